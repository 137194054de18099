/**
 * The Bus's view of a transport's dead-letter store: entries decoded for
 * display, errors rebuilt as `CourierError`s, replay and purge by id.
 */
import type { Codecs } from './codec.js';
import { CourierError } from './errors.js';
import { type MessageInfo, messageInfo } from './message.js';
import type { DeadLetterStore } from './transport.js';

/** A dead letter as the Bus shows it. */
export interface DeadLetterEntry {
  /** The message id; use it to replay or purge this one. */
  id: string;
  group: string;
  /** The error of the last attempt. */
  error: CourierError;
  attempts: number;
  /** When it was dead-lettered. */
  time: Date;
  /** The decoded data, or the raw payload when it cannot be decoded. */
  data: unknown;
  message: MessageInfo;
}

/** A group's dead letters: list, replay, purge. */
export interface DeadLetters {
  /** A group's dead letters, oldest first. */
  list(group: string, options?: { limit?: number }): Promise<DeadLetterEntry[]>;
  /** Delivers dead letters to their group again (all of the group's, or those with `ids`); returns how many. */
  replay(group: string, options?: { ids?: readonly string[] }): Promise<number>;
  /** Deletes dead letters (all of the group's, or those with `ids`); returns how many. */
  purge(group: string, options?: { ids?: readonly string[] }): Promise<number>;
}

/** Dead letters over a store; `store()` throws `UNSUPPORTED` when the transport has none. */
export function deadLetters(store: () => DeadLetterStore, codecs: Codecs): DeadLetters {
  return {
    async list(group, options = {}) {
      const entries = await store().list(group, options);
      return entries.map((entry) => {
        let data: unknown;
        try {
          data = codecs.forContentType(entry.message.contentType).decode(entry.message.payload);
        } catch {
          data = entry.message.payload;
        }
        return {
          id: entry.message.id,
          group: entry.group,
          error: CourierError.fromWire(entry.error),
          attempts: entry.attempts,
          time: new Date(entry.time),
          data,
          message: messageInfo(entry.message),
        };
      });
    },
    replay: async (group, options = {}) => store().replay(group, options.ids),
    purge: async (group, options = {}) => store().purge(group, options.ids),
  };
}
