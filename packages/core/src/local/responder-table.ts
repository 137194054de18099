/**
 * Request routing inside one engine: the registered responders, and the
 * choice of one for each request (least outstanding requests first, ties
 * taken in turn).
 */
import { CourierError } from '../errors.js';
import type { RawMessage } from '../message.js';
import { subjectMatcher } from '../subject.js';
import type { Reply } from '../transport.js';

/** A registered request handler. */
export interface ResponderEntry {
  readonly matches: (subject: string) => boolean;
  readonly handler: (request: RawMessage) => Promise<Reply>;
  outstanding: number;
}

/** The responders of one engine. */
export class ResponderTable {
  readonly #responders = new Set<ResponderEntry>();
  #rotation = 0;

  /** Registers a responder for a subject pattern. */
  add(pattern: string, handler: (request: RawMessage) => Promise<Reply>): ResponderEntry {
    const entry: ResponderEntry = { matches: subjectMatcher(pattern), handler, outstanding: 0 };
    this.#responders.add(entry);
    return entry;
  }

  /** Unregisters a responder; requests it already took still get its replies. */
  remove(entry: ResponderEntry): void {
    this.#responders.delete(entry);
  }

  /**
   * The responder for a subject with the fewest outstanding requests.
   * @throws CourierError `NO_RESPONDERS` when none matches.
   */
  pick(subject: string): ResponderEntry {
    const candidates = [...this.#responders].filter((r) => r.matches(subject));
    if (candidates.length === 0) {
      throw new CourierError(
        'NO_RESPONDERS',
        `no handler is registered for ${subject}; start a service that handles it`,
        {
          data: { subject },
        },
      );
    }
    const start = this.#rotation++ % candidates.length;
    let best = candidates[start] as ResponderEntry;
    for (let i = 1; i < candidates.length; i++) {
      const candidate = candidates[(start + i) % candidates.length] as ResponderEntry;
      if (candidate.outstanding < best.outstanding) best = candidate;
    }
    return best;
  }
}
