/**
 * One stream of the engine: its log, its groups' stored state, and its
 * retention. Limits are applied by the log on every commit and here on a
 * timer (so age drops messages of a quiet stream); under `interest` and
 * `workqueue` retention the stream releases what its durable groups have
 * acknowledged, checked once per event-loop turn after acks.
 */
import { join } from 'node:path';
import { GroupStore } from '../storage/group-store.js';
import { lowestNeeded } from '../storage/retention.js';
import type { StorageLogger } from '../storage/storage-logger.js';
import { StreamLog, type StreamLogInfo } from '../storage/stream-log.js';
import type { SyncPolicy } from '../storage/sync-policy.js';
import type { ResolvedStream } from './stream-config.js';

/** A stream as `stats()` shows it. */
export interface StreamStats extends StreamLogInfo {
  name: string;
  subjects: string[];
  retention: ResolvedStream['retention'];
}

/** See the module comment. Open with {@link EngineStream.open}. */
export class EngineStream {
  readonly config: ResolvedStream;
  readonly log: StreamLog;
  readonly groups: GroupStore;
  readonly #onError: (error: unknown) => void;
  readonly #timer: NodeJS.Timeout | undefined;
  #releasing = false;
  #again = false;
  #closed = false;

  private constructor(
    config: ResolvedStream,
    parts: { log: StreamLog; groups: GroupStore; onError: (error: unknown) => void },
  ) {
    this.config = config;
    this.log = parts.log;
    this.groups = parts.groups;
    this.#onError = parts.onError;
    const maxAge = config.limits.maxAgeMs;
    if (maxAge !== undefined) {
      // Age is checked at a tenth of the limit (within 0.1 s to 1 min), so expiry is late by at most that.
      const period = Math.min(60_000, Math.max(100, Math.floor(maxAge / 10)));
      this.#timer = setInterval(() => {
        if (!this.#closed) this.log.applyRetention().catch(this.#onError);
      }, period);
      this.#timer.unref();
    }
  }

  /** Opens (or creates) the stream's directory under `<dir>/streams/<name>`. */
  static async open(options: {
    dir: string;
    config: ResolvedStream;
    sync: SyncPolicy;
    log?: StorageLogger;
    onError: (error: unknown) => void;
  }): Promise<EngineStream> {
    const { config } = options;
    const common = { sync: options.sync, ...(options.log ? { log: options.log } : {}) };
    const dir = join(options.dir, 'streams', config.name);
    const log = await StreamLog.open({
      dir,
      name: config.name,
      dedupWindowMs: config.dedupWindowMs,
      limits: config.limits,
      // A record holds a message and its envelope: room for the largest message plus its headers.
      maxRecordBytes: Math.max(16 * 1024 * 1024, config.maxPayload + 64 * 1024),
      ...common,
    });
    const groups = await GroupStore.open({ dir: join(dir, 'groups'), ...common });
    const stream = new EngineStream(config, { log, groups, onError: options.onError });
    stream.released();
    return stream;
  }

  /**
   * Acknowledgements changed: under `interest` or `workqueue` retention,
   * release what no durable group still needs (once per turn, however many acks).
   */
  released(): void {
    if (this.config.retention === 'limits' || this.#closed) return;
    if (this.#releasing) {
      this.#again = true;
      return;
    }
    this.#releasing = true;
    const done = (): void => {
      this.#releasing = false;
      if (this.#again) {
        this.#again = false;
        this.released();
      }
    };
    setImmediate(() => {
      if (this.#closed) return done();
      const groups = this.groups.names().flatMap((name) => this.groups.get(name) ?? []);
      // No durable group yet: keep everything (up to the limits) for the first one to come.
      if (groups.length === 0) return done();
      const needed = lowestNeeded({
        policy: this.config.retention,
        groups,
        nextSequence: this.log.info().lastSequence + 1,
      });
      if (needed === undefined) return done();
      this.log.releaseBelow(needed).then(done, (error: unknown) => {
        this.#onError(error);
        done();
      });
    });
  }

  /** What the stream holds now. */
  stats(): StreamStats {
    return {
      name: this.config.name,
      subjects: [...this.config.subjects],
      retention: this.config.retention,
      ...this.log.info(),
    };
  }

  /** Stops the timer and closes the log and the group state. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.log.close();
    await this.groups.close();
  }
}
