/**
 * Dead letters: what failed for good, with the error, the attempts and the
 * payload; replay (back to the group) or discard, one row, the selected
 * rows, or a whole group. Discarding asks first; every action says what it
 * did.
 */
import type { DeadLetter } from '../api-types.js';
import { h } from '../dom.js';
import { clip, payload, since } from '../format.js';
import { type ViewContext, view } from '../view.js';

type Action = 'replay' | 'discard';

/** An action on some dead letters of some groups; `ids` undefined means all of the group's. */
interface Request {
  action: Action;
  targets: { group: string; ids?: string[] }[];
  label: string;
}

interface Notice {
  ok: boolean;
  text: string;
}

// View state that survives re-renders and route changes inside the view.
const state: {
  selected: Set<string>;
  confirm: Request | undefined;
  notice: Notice | undefined;
  busy: boolean;
} = {
  selected: new Set(),
  confirm: undefined,
  notice: undefined,
  busy: false,
};

const keyOf = (d: { group: string; id: string }): string => JSON.stringify([d.group, d.id]);

interface Data {
  letters: DeadLetter[];
  group: string | null;
  groups: string[];
  selected: string[];
  confirm: Request | undefined;
  notice: Notice | undefined;
  busy: boolean;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

async function perform(request: Request, context: ViewContext): Promise<void> {
  state.busy = true;
  state.confirm = undefined;
  context.refresh();
  let total = 0;
  try {
    for (const target of request.targets) {
      const result = await context.api.post<{ replayed?: number; discarded?: number }>(
        `/api/dead-letters/${request.action}`,
        target.ids === undefined ? { group: target.group } : { group: target.group, ids: target.ids },
      );
      total += (request.action === 'replay' ? result.replayed : result.discarded) ?? 0;
    }
    const verb = request.action === 'replay' ? 'Replayed' : 'Discarded';
    state.notice = { ok: true, text: `${verb} ${plural(total, 'dead letter')} (${request.label}).` };
    state.selected.clear();
  } catch (error) {
    state.notice = {
      ok: false,
      text: `${request.action} failed after ${plural(total, 'dead letter')}: ${error instanceof Error ? error.message : String(error)}`,
    };
  } finally {
    state.busy = false;
    context.refresh();
  }
}

function ask(request: Request, context: ViewContext): void {
  if (request.action === 'discard') {
    state.confirm = request;
    context.refresh();
  } else {
    void perform(request, context);
  }
}

function selectedTargets(letters: readonly DeadLetter[]): { group: string; ids: string[] }[] {
  const byGroup = new Map<string, string[]>();
  for (const d of letters) {
    if (!state.selected.has(keyOf(d))) continue;
    byGroup.set(d.group, [...(byGroup.get(d.group) ?? []), d.id]);
  }
  return [...byGroup.entries()].map(([group, ids]) => ({ group, ids }));
}

function toolbar(data: Data, context: ViewContext): HTMLElement {
  const targets = selectedTargets(data.letters);
  const count = targets.reduce((n, t) => n + t.ids.length, 0);
  const select = h(
    'select',
    {
      'data-testid': 'dl-group-filter',
      onchange: () =>
        context.navigate(
          select.value === '' ? '#/dead-letters' : `#/dead-letters?group=${encodeURIComponent(select.value)}`,
        ),
    },
    h('option', { value: '' }, 'all groups'),
    data.groups.map((g) => h('option', { value: g, selected: g === data.group }, g)),
  );
  const group = data.group;
  return h(
    'div',
    { class: 'toolbar' },
    h('label', {}, 'Group ', select),
    h(
      'button',
      {
        'data-testid': 'dl-replay-selected',
        disabled: count === 0 || data.busy,
        onclick: () => ask({ action: 'replay', targets, label: `${count} selected` }, context),
      },
      `Replay selected (${count})`,
    ),
    h(
      'button',
      {
        class: 'danger',
        'data-testid': 'dl-discard-selected',
        disabled: count === 0 || data.busy,
        onclick: () => ask({ action: 'discard', targets, label: `${count} selected` }, context),
      },
      `Discard selected (${count})`,
    ),
    group !== null && [
      h(
        'button',
        {
          'data-testid': 'dl-replay-group',
          disabled: data.letters.length === 0 || data.busy,
          onclick: () =>
            ask({ action: 'replay', targets: [{ group }], label: `all of group ${group}` }, context),
        },
        `Replay all of ${group}`,
      ),
      h(
        'button',
        {
          class: 'danger',
          'data-testid': 'dl-discard-group',
          disabled: data.letters.length === 0 || data.busy,
          onclick: () =>
            ask({ action: 'discard', targets: [{ group }], label: `all of group ${group}` }, context),
        },
        `Discard all of ${group}`,
      ),
    ],
  );
}

function row(d: DeadLetter, data: Data, context: ViewContext): HTMLElement {
  const key = keyOf(d);
  const single = { group: d.group, ids: [d.id] };
  return h(
    'tr',
    { 'data-testid': `dead-letter-${d.id}` },
    h(
      'td',
      {},
      h('input', {
        type: 'checkbox',
        'aria-label': `select ${d.id}`,
        checked: data.selected.includes(key),
        onchange: (event: Event) => {
          if ((event.target as HTMLInputElement).checked) state.selected.add(key);
          else state.selected.delete(key);
          context.refresh();
        },
      }),
    ),
    h('td', {}, d.group, h('div', { class: 'muted small mono' }, d.pattern)),
    h('td', { class: 'mono' }, d.subject, h('div', { class: 'muted small' }, d.id)),
    h(
      'td',
      {},
      h('strong', { class: 'bad' }, d.error.code),
      h('div', { class: 'error-message' }, d.error.message),
    ),
    h('td', { class: 'num' }, d.attempts),
    h('td', {}, since(d.time)),
    h('td', {}, h('pre', { class: 'data', title: payload(d.data) }, clip(payload(d.data), 400))),
    h(
      'td',
      { class: 'actions' },
      h(
        'button',
        {
          'data-testid': `replay-${d.id}`,
          disabled: data.busy,
          onclick: () => ask({ action: 'replay', targets: [single], label: d.id }, context),
        },
        'Replay',
      ),
      h(
        'button',
        {
          class: 'danger',
          'data-testid': `discard-${d.id}`,
          disabled: data.busy,
          onclick: () => ask({ action: 'discard', targets: [single], label: d.id }, context),
        },
        'Discard',
      ),
    ),
  );
}

export const deadLettersView = view<Data>({
  id: 'dead-letters',
  title: 'Dead letters',
  async load({ api, params, snapshot }) {
    const group = params.get('group');
    const query = new URLSearchParams({ limit: '500' });
    if (group !== null) query.set('group', group);
    const letters = await api.get<DeadLetter[]>(`/api/dead-letters?${query}`);
    // Selections of letters that are gone (replayed elsewhere) are forgotten.
    const present = new Set(letters.map(keyOf));
    for (const key of state.selected) if (!present.has(key)) state.selected.delete(key);
    const groups = [
      ...new Set([...snapshot.groups.map((g) => g.group), ...letters.map((d) => d.group)]),
    ].sort();
    return {
      letters,
      group,
      groups,
      selected: [...state.selected],
      confirm: state.confirm,
      notice: state.notice,
      busy: state.busy,
    };
  },
  render(data, context) {
    const confirm = data.confirm;
    return h(
      'div',
      {},
      toolbar(data, context),
      confirm &&
        h(
          'div',
          { class: 'confirm', 'data-testid': 'dl-confirm' },
          `Discard ${confirm.label}? Discarded messages are deleted for good.`,
          h(
            'button',
            {
              class: 'danger',
              'data-testid': 'dl-confirm-yes',
              onclick: () => void perform(confirm, context),
            },
            'Discard',
          ),
          h(
            'button',
            {
              'data-testid': 'dl-confirm-no',
              onclick: () => {
                state.confirm = undefined;
                context.refresh();
              },
            },
            'Cancel',
          ),
        ),
      data.notice &&
        h(
          'p',
          { class: data.notice.ok ? 'notice ok' : 'notice error', 'data-testid': 'dl-result' },
          data.notice.text,
        ),
      data.letters.length === 0
        ? h('p', { class: 'muted', 'data-testid': 'dead-letters-empty' }, 'No dead letters.')
        : h(
            'table',
            { 'data-testid': 'dead-letters' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['', 'group', 'subject / id', 'error', 'attempts', 'time', 'data', ''].map((c) =>
                  h('th', {}, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              data.letters.map((d) => row(d, data, context)),
            ),
          ),
    );
  },
});
