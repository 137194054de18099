/**
 * The token prompt: shown when the broker answers 401, it keeps the token
 * the user types for this tab (sessionStorage) and retries.
 */
import { h } from './dom.js';

/** Options of {@link tokenPrompt}. */
export interface TokenPromptOptions {
  /** Called with the token the user entered. */
  onToken: (token: string) => void;
}

/** The prompt element, and functions to open it (with the broker's reason) and to tell whether it is open. */
export function tokenPrompt(options: TokenPromptOptions): {
  element: HTMLElement;
  open(reason: string): void;
  readonly isOpen: boolean;
} {
  const reason = h('p', { class: 'muted', 'data-testid': 'token-reason' });
  const input = h('input', {
    type: 'password',
    autocomplete: 'off',
    placeholder: 'token',
    'aria-label': 'token',
    'data-testid': 'token-input',
  });
  const form = h(
    'form',
    {
      class: 'token-form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const token = input.value.trim();
        if (token === '') return;
        element.hidden = true;
        input.value = '';
        options.onToken(token);
      },
    },
    h('h2', {}, 'This broker needs a token'),
    reason,
    h(
      'p',
      {},
      'Enter a token from the broker config. It is kept for this browser tab only and sent as ',
      h('code', {}, 'Authorization: Bearer'),
      '.',
    ),
    input,
    h('button', { type: 'submit', 'data-testid': 'token-submit' }, 'Use token'),
  );
  const element = h('div', { class: 'overlay', 'data-testid': 'token-prompt', hidden: true }, form);
  return {
    element,
    open(why: string) {
      reason.textContent = why;
      if (element.hidden) {
        element.hidden = false;
        input.focus();
      }
    },
    get isOpen() {
      return !element.hidden;
    },
  };
}
