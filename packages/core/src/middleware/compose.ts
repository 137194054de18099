/**
 * Middleware: functions around every publish, request, consume and handle,
 * composed outermost first. Each sees the call and decides whether and how
 * to call `next`.
 */
import type { Headers } from '../message.js';

/** Which operation a call is. `consume` wraps a subscription handler, `handle` a request handler. */
export type CallKind = 'publish' | 'request' | 'consume' | 'handle';

/** The call a middleware wraps. */
export interface Call {
  readonly kind: CallKind;
  readonly subject: string;
  readonly data: unknown;
  readonly headers: Headers;
}

/** Runs the rest of the chain. */
export type Next = () => Promise<unknown>;

/** A middleware: `(call, next) => next()` does nothing. */
export type Middleware = (call: Call, next: Next) => Promise<unknown>;

/** Runs `final` inside `middleware`, the first one outermost. */
export function runMiddleware(middleware: readonly Middleware[], call: Call, final: Next): Promise<unknown> {
  const step = (index: number): Promise<unknown> => {
    const current = middleware[index];
    if (current === undefined) return final();
    return current(call, () => step(index + 1));
  };
  return step(0);
}

/** Restricts a middleware to some kinds of call; others pass straight through. */
export function only(kinds: readonly CallKind[], middleware: Middleware): Middleware {
  const set = new Set(kinds);
  return (call, next) => (set.has(call.kind) ? middleware(call, next) : next());
}
