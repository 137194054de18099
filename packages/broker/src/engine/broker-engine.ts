/**
 * The broker's engine: one durable stream of every subject (a segmented log
 * with group commit), durable groups over it, dead letters, and request
 * routing. It serves connections in this process (`embedded://`) through
 * core's `LocalTransport`; the TCP server will serve it to other processes.
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
  type DeadLetterStore,
  type Duration,
  type GroupMember,
  type LocalEngine,
  optionalMillis,
  type RawMessage,
  ResponderTable,
} from '@courier/core';
import { GroupStore } from '../storage/group-store.js';
import type { StorageLogger } from '../storage/storage-logger.js';
import { StreamLog, type StreamLogInfo } from '../storage/stream-log.js';
import type { SyncPolicy } from '../storage/sync-policy.js';
import { DeadLetterLog } from './dead-letter-log.js';
import { DurableGroup, REPLAY_HEADER } from './durable-group.js';
import { encodeMessage } from './records.js';
import { ServiceRegistry } from './service-registry.js';

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
  /** Where storage reports recovery and I/O trouble. */
  log?: StorageLogger;
  /** Errors with no caller to reject (a failed background write). Default: logged to stderr. */
  onError?: (error: unknown) => void;
}

/** A group as `stats()` shows it. */
export interface GroupStats {
  group: string;
  subject: string;
  durable: boolean;
  /** Members attached now. */
  members: number;
  /** Messages read and not yet acked or dead-lettered (up to the read-ahead window). */
  outstanding: number;
}

/** What `stats()` returns. */
export interface EngineStats {
  stream: StreamLogInfo & { name: string };
  groups: GroupStats[];
}

function groupKey(group: string, pattern: string): string {
  return JSON.stringify([group, pattern]);
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
  readonly #log: StreamLog;
  readonly #groupStore: GroupStore;
  readonly #dead: DeadLetterLog;
  readonly #groups = new Map<string, Promise<DurableGroup>>();
  readonly #deadLetterTurns = new Map<string, Promise<number>>();
  readonly #onError: (error: unknown) => void;
  #closed = false;

  private constructor(
    options: BrokerEngineOptions,
    parts: { log: StreamLog; groups: GroupStore; dead: DeadLetterLog },
  ) {
    this.dir = options.dir;
    this.maxPayload = options.maxPayload ?? 8 * 1024 * 1024;
    this.#log = parts.log;
    this.#groupStore = parts.groups;
    this.#dead = parts.dead;
    const report = options.onError ?? ((error: unknown) => console.error('[courier broker]', error));
    // Background writes still in flight when the engine closes fail with "closed": nothing to report.
    this.#onError = (error) => {
      if (!this.#closed) report(error);
    };
    this.deadLetters = {
      list: async (group, listOptions = {}) => this.#dead.list(group, listOptions.limit),
      replay: (group, ids) =>
        this.#deadLetterTurn(group, async () => {
          // Only to durable groups (a private subscription's group is gone), and appended before being
          // removed, so a crash or a full disk in between leaves a duplicate, never a loss.
          const found = (await this.#dead.find(group, ids)).filter(({ entry }) =>
            this.#groupStore.get(groupKey(entry.group, entry.pattern)),
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
        this.#deadLetterTurn(group, async () => {
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
    const streamDir = join(options.dir, 'streams', 'default');
    const log = await StreamLog.open({ dir: streamDir, name: 'default', dedupWindowMs, ...common });
    const groups = await GroupStore.open({ dir: join(streamDir, 'groups'), ...common });
    const dead = await DeadLetterLog.open({ dir: join(options.dir, 'dead-letters'), ...common });
    return new BrokerEngine(options, { log, groups, dead });
  }

  async publish(message: RawMessage, options: { dedup: boolean }): Promise<void> {
    this.#assertOpen();
    assertSize(message, this.maxPayload, this.name);
    if (message.headers[REPLAY_HEADER] !== undefined) {
      throw new CourierError(
        'INVALID_MESSAGE',
        `header ${REPLAY_HEADER} is reserved for dead-letter replays; use another name`,
      );
    }
    await this.#append(message, options.dedup);
  }

  async attach(options: AttachOptions, member: GroupMember): Promise<Attachment> {
    this.#assertOpen();
    const key = groupKey(options.group, options.subject);
    let opening = this.#groups.get(key);
    if (!opening) {
      const info = this.#log.info();
      opening = DurableGroup.open({
        name: options.group,
        pattern: options.subject,
        schedule: options.schedule,
        orderKeys: options.orderKeys,
        key,
        store: options.durable ? this.#groupStore : undefined,
        startAfter: options.deliver === 'all' ? info.firstSequence - 1 : info.lastSequence,
        log: this.#log,
        deadLetter: (entry) => this.#dead.add(entry),
        onError: this.#onError,
      });
      this.#groups.set(key, opening);
      opening.catch(() => this.#groups.delete(key));
    }
    const group = await opening;
    if ((group.options.store !== undefined) !== options.durable) {
      throw new CourierError(
        'INVALID_OPTION',
        `group ${options.group} on ${options.subject} is ${options.durable ? 'private' : 'durable'} here; a group is either durable or private, use another name`,
      );
    }
    group.dispatcher.members.add(member);
    group.pump();
    return {
      detach: () => {
        group.dispatcher.detach(member);
        if (!options.durable && group.dispatcher.members.size === 0) {
          group.dispose();
          this.#groups.delete(key);
        }
      },
    };
  }

  /** What the engine holds now: its stream, and every group open in this process. */
  async stats(): Promise<EngineStats> {
    const groups: GroupStats[] = [];
    for (const opening of this.#groups.values()) {
      const group = await opening.catch(() => undefined);
      if (!group) continue;
      groups.push({
        group: group.options.name,
        subject: group.options.pattern,
        durable: group.options.store !== undefined,
        members: group.dispatcher.members.size,
        outstanding: group.dispatcher.outstanding,
      });
    }
    return { stream: { name: 'default', ...this.#log.info() }, groups };
  }

  /** Stops every group and closes the logs; what was acknowledged is on disk. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const opening of this.#groups.values()) (await opening.catch(() => undefined))?.dispose();
    this.#groups.clear();
    await this.#log.close();
    await this.#groupStore.close();
    await this.#dead.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #append(message: RawMessage, dedup: boolean): Promise<void> {
    const result = await this.#log.append({
      payload: encodeMessage(message),
      ...(dedup ? { id: message.id } : {}),
    });
    if (result.duplicate) return;
    for (const opening of this.#groups.values())
      void opening.then(
        (group) => group.pump(),
        () => undefined,
      );
  }

  /** Runs dead-letter changes of one group one at a time, so two replays cannot take the same entries. */
  #deadLetterTurn(group: string, work: () => Promise<number>): Promise<number> {
    const previous = this.#deadLetterTurns.get(group) ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(work);
    this.#deadLetterTurns.set(group, next);
    const forget = (): void => {
      if (this.#deadLetterTurns.get(group) === next) this.#deadLetterTurns.delete(group);
    };
    next.then(forget, forget);
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
