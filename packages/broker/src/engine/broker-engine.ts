/**
 * The broker's engine: streams of subjects (segmented logs with group commit
 * and retention), durable groups over them, dead letters, and request
 * routing. It serves connections in this process (`embedded://`) through
 * core's `LocalTransport`; the TCP server serves it to other processes.
 *
 * A message goes to the first configured stream whose subject patterns match
 * it, else to the `default` stream (docs/broker.md). A group reads every
 * stream that may hold a subject of its pattern, with one cursor per stream.
 *
 * A publish resolves once its record is on disk (under the default `sync`
 * policy), after which every matching group will deliver it, across crashes
 * and restarts. Group state is stored before an ack resolves. Retry delays
 * and ack deadlines are held in memory: after a restart, unacked messages are
 * delivered again at once, with their stored delivery counts.
 */
import { join } from 'node:path';
import {
  type Attachment,
  type AttachOptions,
  assertSize,
  CourierError,
  type DeadLetter,
  type DeadLetterStore,
  type Duration,
  type GroupMember,
  type LocalEngine,
  optionalMillis,
  type RawMessage,
  ResponderTable,
} from '@courier/core';
import type { StorageLogger } from '../storage/storage-logger.js';
import type { SyncPolicy } from '../storage/sync-policy.js';
import { DeadLetterLog } from './dead-letter-log.js';
import { REPLAY_HEADER } from './durable-group.js';
import type { EngineObserver } from './engine-observer.js';
import { EngineStream, type StreamStats } from './engine-stream.js';
import { type GroupConfig, type ResolvedGroupConfig, resolveGroups } from './group-config.js';
import { type GroupStats, GroupTable, groupKey } from './group-table.js';
import { decodeMessage, encodeMessage } from './records.js';
import { ServiceRegistry } from './service-registry.js';
import { resolveStreams, type StreamConfig, streamFor } from './stream-config.js';

export type { GroupStats } from './group-table.js';

const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024;

/** Options of {@link BrokerEngine.open}. */
export interface BrokerEngineOptions {
  /** The data directory; created when missing. */
  dir: string;
  /** When appends reach the disk: `'sync'` (default: before a publish resolves), `{ interval: ms }`, or `'none'`. */
  sync?: SyncPolicy;
  /** The largest message accepted, in bytes. Default 8 MiB. */
  maxPayload?: number;
  /** How long message ids are remembered for dedup. Default 2m. */
  dedupWindow?: Duration;
  /**
   * Streams and the subjects they hold, with their retention (docs/broker.md).
   * Subjects no stream covers go to the `default` stream.
   */
  streams?: StreamConfig[];
  /** Server-side settings of groups: caps on credit and ack wait, max deliveries, backoff floors. */
  groups?: GroupConfig[];
  /** Where storage reports recovery and I/O trouble. */
  log?: StorageLogger;
  /** Errors with no caller to reject (a failed background write). Default: logged to stderr. */
  onError?: (error: unknown) => void;
  /** Told of every publish, delivery, ack and dead letter (the broker's metrics); keep it cheap. */
  observer?: EngineObserver;
}

/** What `stats()` returns. */
export interface EngineStats {
  /** The `default` stream (also in `streams`). */
  stream: StreamStats;
  /** Every stream, configured ones in order, `default` last. */
  streams: StreamStats[];
  groups: GroupStats[];
}

/** See the module comment. */
export class BrokerEngine implements LocalEngine {
  readonly name = 'embedded';
  readonly durable = true;
  readonly maxPayload: number;
  readonly responders = new ResponderTable();
  /** The connections served by the broker's TCP server, by service and instance. */
  readonly services = new ServiceRegistry();
  readonly deadLetters: DeadLetterStore;
  readonly dir: string;
  /** The observer given at open (the broker's metrics), if any. */
  readonly observer: EngineObserver | undefined;
  /** Configured streams in order, `default` last. */
  readonly #streams: EngineStream[];
  readonly #dead: DeadLetterLog;
  readonly #groups: GroupTable;
  /** The dead-letter change running now (any group); the next waits for it. */
  #deadLetterTurn: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    options: BrokerEngineOptions,
    parts: {
      streams: EngineStream[];
      groups: ResolvedGroupConfig[];
      dead: DeadLetterLog;
      onError: (error: unknown) => void;
    },
  ) {
    this.dir = options.dir;
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.#streams = parts.streams;
    this.#dead = parts.dead;
    this.observer = options.observer;
    this.#groups = new GroupTable({
      streams: parts.streams,
      configs: parts.groups,
      deadLetter: (entry) => this.#dead.add(entry),
      onError: parts.onError,
      observer: options.observer,
    });
    this.deadLetters = {
      list: async (group, listOptions = {}) => this.#dead.list(group, listOptions.limit),
      replay: (group, ids) =>
        this.#deadLetterChange(async () => {
          // Only to durable groups (a private subscription's group is gone), and appended before being
          // removed, so a crash or a full disk in between leaves a duplicate, never a loss.
          const found = (await this.#dead.find(group, ids)).filter(({ entry }) =>
            this.#streams.some((s) => s.groups.get(groupKey(entry.group, entry.pattern))),
          );
          for (const { entry } of found) {
            const headers = {
              ...entry.message.headers,
              [REPLAY_HEADER]: groupKey(entry.group, entry.pattern),
            };
            // No dedup id: the original id was accepted before and must not swallow its replay.
            await this.#append({ ...entry.message, headers }, false);
          }
          await this.#dead.remove(found);
          return found.length;
        }),
      purge: (group, ids) =>
        this.#deadLetterChange(async () => {
          const found = await this.#dead.find(group, ids);
          await this.#dead.remove(found);
          return found.length;
        }),
    };
  }

  /** Opens (or creates) the broker's data directory, recovering whatever a crash left. */
  static async open(options: BrokerEngineOptions): Promise<BrokerEngine> {
    const sync = options.sync ?? 'sync';
    const common = { sync, ...(options.log ? { log: options.log } : {}) };
    const dedupWindowMs = optionalMillis(options.dedupWindow, 'dedupWindow', 120_000);
    const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    const configs = resolveStreams(options.streams, { maxPayload, dedupWindowMs });
    const groups = resolveGroups(options.groups);
    const report = options.onError ?? ((error: unknown) => console.error('[courier broker]', error));
    let engine: BrokerEngine | undefined;
    // Background writes still in flight when the engine closes fail with "closed": nothing to report.
    const onError = (error: unknown): void => {
      if (!engine?.closed) report(error);
    };
    const streams: EngineStream[] = [];
    try {
      for (const config of configs)
        streams.push(await EngineStream.open({ dir: options.dir, config, onError, ...common }));
      const dead = await DeadLetterLog.open({ dir: join(options.dir, 'dead-letters'), ...common });
      engine = new BrokerEngine(options, { streams, groups, dead, onError });
      return engine;
    } catch (error) {
      for (const stream of streams) await stream.close().catch(() => undefined);
      throw error;
    }
  }

  async publish(message: RawMessage, options: { dedup: boolean }): Promise<void> {
    this.#checkPublish(message);
    await this.#append(message, options.dedup);
  }

  /**
   * {@link BrokerEngine.publish} for the TCP server, without a promise per
   * message: `encoded` is the message's structure exactly as
   * `protocol/structures.ts` writes it (the bytes of a PUBLISH frame), stored
   * as the record without encoding it again; `done` is called once, with the
   * error when it was refused or not stored. Dedup by id always applies.
   */
  publishEncoded(message: RawMessage, encoded: Uint8Array, done: (error: unknown) => void): void {
    try {
      this.#checkPublish(message);
    } catch (error) {
      done(error);
      return;
    }
    this.#appendWith(message, encoded, true, done);
  }

  #checkPublish(message: RawMessage): void {
    this.#assertOpen();
    assertSize(message, this.maxPayload, this.name);
    if (message.headers[REPLAY_HEADER] !== undefined) {
      throw new CourierError(
        'INVALID_MESSAGE',
        `header ${REPLAY_HEADER} is reserved for dead-letter replays; use another name`,
      );
    }
    const stream = streamFor(this.#streams, message.subject);
    if (stream.config.maxPayload < this.maxPayload)
      assertSize(message, stream.config.maxPayload, `stream ${stream.config.name}`);
  }

  async attach(options: AttachOptions, member: GroupMember): Promise<Attachment> {
    this.#assertOpen();
    return this.#groups.attach(options, member);
  }

  /** What the engine holds now: its streams, and every group open in this process (one entry per stream it reads). */
  async stats(): Promise<EngineStats> {
    const groups = await this.#groups.stats();
    const streams = this.#streams.map((s) => s.stats());
    return { stream: streams[streams.length - 1] as StreamStats, streams, groups };
  }

  /**
   * Up to `limit` records of a stream from sequence `from` (the admin API's message browser), or
   * `undefined` when no stream has that name. A record that does not decode has no `message`.
   */
  async readStream(
    stream: string,
    options: { from: number; limit: number },
  ): Promise<{ sequence: number; time: number; message: RawMessage | undefined }[] | undefined> {
    const found = this.#streams.find((s) => s.config.name === stream);
    if (!found) return undefined;
    const records = await found.log.readRange({ from: options.from, maxRecords: options.limit });
    return records.map((r) => {
      let message: RawMessage | undefined;
      try {
        message = decodeMessage(r.payload);
      } catch {}
      return { sequence: r.sequence, time: r.time, message };
    });
  }

  /** How many dead letters each group holds, from memory (groups holding none are left out). */
  deadLetterCounts(): ReadonlyMap<string, number> {
    return this.#dead.counts();
  }

  /** Every group's dead letters (those on disk, open here or not), oldest first, in one scan. */
  allDeadLetters(options: { limit?: number } = {}): Promise<DeadLetter[]> {
    return this.#dead.listAll(options.limit);
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops every group and closes the logs; what was acknowledged is on disk. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#groups.close();
    for (const stream of this.#streams) await stream.close();
    await this.#dead.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #append(message: RawMessage, dedup: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#appendWith(message, encodeMessage(message), dedup, (error) => {
        if (error === undefined) resolve();
        else reject(error);
      });
    });
  }

  /** Appends a message whose record payload (its message structure) is `encoded`; groups read it on the commit. */
  #appendWith(
    message: RawMessage,
    encoded: Uint8Array,
    dedup: boolean,
    done: (error: unknown) => void,
  ): void {
    const stream = streamFor(this.#streams, message.subject);
    stream.log.appendWith(
      { payload: encoded, ...(dedup ? { id: message.id } : {}) },
      (error, _, duplicate) => {
        if (error === undefined && !duplicate)
          this.observer?.published(message.subject, message.payload.byteLength, stream.config.name);
        done(error);
      },
    );
  }

  /**
   * Runs dead-letter changes one at a time across all groups: two replays cannot take the same
   * entries, and two removals cannot compact the log at once (which would copy entries twice).
   */
  #deadLetterChange(work: () => Promise<number>): Promise<number> {
    const next = this.#deadLetterTurn.then(work);
    this.#deadLetterTurn = next.catch(() => undefined);
    return next;
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new CourierError(
        'CONNECTION_CLOSED',
        `the broker engine at ${this.dir} is closed; open it again`,
      );
  }
}
