/**
 * One subscription of the memory engine: a cursor over the in-memory log
 * feeding the shared group dispatcher.
 */
import { type DispatcherOptions, GroupDispatcher } from '../local/group-dispatcher.js';
import type { RawMessage } from '../message.js';
import { subjectMatcher } from '../subject.js';
import type { DeadLetter } from '../transport.js';

/** The part of the log a group reads. */
export interface LogReader {
  /** The sequence the next published message will get. */
  readonly end: number;
  /** The oldest sequence still held. */
  readonly first: number;
  get(seq: number): RawMessage | undefined;
}

/** How a group behaves, fixed when it is created. */
export interface GroupOptions extends DispatcherOptions {
  readonly startSeq: number;
  readonly durable: boolean;
}

/** A memory engine's group. */
export class MemoryGroup {
  readonly options: GroupOptions;
  readonly dispatcher: GroupDispatcher;
  readonly #log: LogReader;
  readonly #matches: (subject: string) => boolean;
  #cursor: number;

  constructor(options: GroupOptions, log: LogReader, onDeadLetter: (entry: DeadLetter) => void) {
    this.options = options;
    this.#log = log;
    this.#matches = subjectMatcher(options.pattern);
    this.#cursor = options.startSeq;
    this.dispatcher = new GroupDispatcher(options, { deadLettered: onDeadLetter });
  }

  /** Reads new messages from the log and hands out what members have credit for. */
  pump(): void {
    this.#cursor = Math.max(this.#cursor, this.#log.first);
    for (; this.#cursor < this.#log.end; this.#cursor++) {
      const message = this.#log.get(this.#cursor);
      if (message && this.#matches(message.subject)) this.dispatcher.add(this.#cursor, message);
    }
    this.dispatcher.dispatch();
  }
}
