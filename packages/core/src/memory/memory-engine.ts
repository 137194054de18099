/**
 * The memory engine: a log of messages, the groups reading it, request
 * responders and dead letters, all in one process. It keeps every promise a
 * durable engine keeps (groups resume where they were when their members
 * reconnect, retries and delays are held by the engine, dead letters are
 * kept) except surviving the process itself. Many memory transports can
 * share one engine, as many connections share one broker.
 */
import { type Duration, optionalMillis } from '../duration.js';
import type { Attachment, AttachOptions, GroupMember, LocalEngine } from '../local/local-engine.js';
import { ResponderTable } from '../local/responder-table.js';
import { assertSize, type RawMessage } from '../message.js';
import type { DeadLetter, DeadLetterStore, DeliverStart } from '../transport.js';
import { type LogReader, MemoryGroup } from './memory-group.js';

/** Options for {@link MemoryEngine}. */
export interface MemoryEngineOptions {
  /** Largest message in bytes. Default 1 MiB. */
  maxPayload?: number;
  /** How long message ids are remembered for dedup. Default 2m. */
  dedupWindow?: Duration;
  /** Messages kept in the log; the oldest are dropped beyond it. Default 1,000,000. */
  maxMessages?: number;
}

function groupKey(group: string, pattern: string): string {
  return `${group}\u0000${pattern}`;
}

/** An in-process engine. */
export class MemoryEngine implements LocalEngine {
  readonly name = 'memory';
  readonly durable = false;
  readonly maxPayload: number;
  readonly responders = new ResponderTable();
  readonly #dedupWindow: number;
  readonly #maxMessages: number;
  #log: RawMessage[] = [];
  /** When each message in `#log` was accepted, ms since the epoch (non-decreasing). */
  #times: number[] = [];
  #first = 0;
  readonly #seen = new Map<string, number>();
  readonly #groups = new Map<string, MemoryGroup>();
  #deadLetters: DeadLetter[] = [];

  constructor(options: MemoryEngineOptions = {}) {
    this.maxPayload = options.maxPayload ?? 1024 * 1024;
    this.#dedupWindow = optionalMillis(options.dedupWindow, 'dedupWindow', 120_000);
    this.#maxMessages = options.maxMessages ?? 1_000_000;
  }

  /** The log as groups read it. */
  get log(): LogReader {
    const engine = this;
    return {
      get first() {
        return engine.#first;
      },
      get end() {
        return engine.#first + engine.#log.length;
      },
      get: (seq) => this.#log[seq - this.#first],
    };
  }

  /**
   * Appends a message and offers it to every group. With `dedup`, an id seen
   * within the window is accepted again without storing it.
   */
  async publish(message: RawMessage, options: { dedup: boolean }): Promise<void> {
    assertSize(message, this.maxPayload, 'memory');
    const now = Date.now();
    if (options.dedup) {
      for (const [id, time] of this.#seen) {
        if (time > now - this.#dedupWindow) break;
        this.#seen.delete(id);
      }
      if (this.#seen.has(message.id)) return;
      this.#seen.set(message.id, now);
    }
    this.#log.push(message);
    this.#times.push(Math.max(now, this.#times[this.#times.length - 1] ?? 0));
    // Trim in chunks so that a full log does not shift the array on every publish.
    const excess = this.#log.length - this.#maxMessages;
    if (excess > Math.max(1, this.#maxMessages / 10)) {
      this.#log.splice(0, excess);
      this.#times.splice(0, excess);
      this.#first += excess;
    }
    for (const group of this.#groups.values()) group.pump();
  }

  /** Adds a member to its group, creating the group on first use. */
  async attach(options: AttachOptions, member: GroupMember): Promise<Attachment> {
    const id = groupKey(options.group, options.subject);
    let group = this.#groups.get(id);
    if (!group) {
      const log = this.log;
      group = new MemoryGroup(
        {
          name: options.group,
          pattern: options.subject,
          startSeq: this.#startSeq(options.deliver),
          durable: options.durable,
          schedule: options.schedule,
          orderKeys: options.orderKeys,
        },
        log,
        (entry) => this.#deadLetters.push(entry),
      );
      this.#groups.set(id, group);
    }
    group.dispatcher.members.add(member);
    group.pump();
    const joined = group;
    return { detach: () => this.#detach(joined, member) };
  }

  /**
   * Where a new group starts reading. Stream sequences are 1-based (the first
   * message published is sequence 1), as on the broker; the log is 0-based.
   */
  #startSeq(deliver: DeliverStart): number {
    const end = this.#first + this.#log.length;
    if (deliver === 'new') return end;
    if (deliver === 'all') return this.#first;
    if ('sequence' in deliver) return Math.min(Math.max(deliver.sequence - 1, this.#first), end);
    // The first message accepted at or after the time: binary search over the non-decreasing times.
    let low = 0;
    let high = this.#times.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.#times[mid] as number) < deliver.time) low = mid + 1;
      else high = mid;
    }
    return this.#first + low;
  }

  /** Removes a member; a non-durable group goes with its last member. */
  #detach(group: MemoryGroup, member: GroupMember): void {
    group.dispatcher.detach(member);
    if (!group.options.durable && group.dispatcher.members.size === 0) {
      group.dispatcher.dispose();
      this.#groups.delete(groupKey(group.options.name, group.options.pattern));
    }
  }

  /** The dead letters of every group. */
  readonly deadLetters: DeadLetterStore = {
    list: async (group, options = {}) => {
      const all = this.#deadLetters.filter((d) => d.group === group);
      return options.limit === undefined ? all : all.slice(0, options.limit);
    },
    replay: async (group, ids) => {
      let replayed = 0;
      for (const entry of this.#take(group, ids)) {
        const target = this.#groups.get(groupKey(entry.group, entry.pattern));
        if (target) {
          target.dispatcher.replay(entry.message);
          replayed++;
        } else {
          // A non-durable group that is gone: keep the dead letter rather than lose it.
          this.#deadLetters.push(entry);
        }
      }
      return replayed;
    },
    purge: async (group, ids) => this.#take(group, ids).length,
  };

  #take(group: string, ids: readonly string[] | undefined): DeadLetter[] {
    const wanted = ids === undefined ? undefined : new Set(ids);
    const taken: DeadLetter[] = [];
    this.#deadLetters = this.#deadLetters.filter((entry) => {
      const match = entry.group === group && (wanted === undefined || wanted.has(entry.message.id));
      if (match) taken.push(entry);
      return !match;
    });
    return taken;
  }

  /** Stops every timer. The engine can still be read but delivers nothing more. */
  close(): void {
    for (const group of this.#groups.values()) group.dispatcher.dispose();
    this.#groups.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
