/**
 * Durable group state for one stream: every change is appended to
 * `groups.<generation>.log` with group commit (one write and one
 * `fdatasync` per event-loop turn under the `sync` policy), and applied in
 * memory only once stored, so what the engine reads is what survives a
 * crash. Compaction writes the whole state as `groups.snapshot` (temp file,
 * fsync, rename, fsync the directory) and starts the next generation's log;
 * the snapshot names the first log to replay, so replay is exact whether a
 * crash hits before, during or after compaction.
 */
import { join } from 'node:path';
import { CourierError } from '@courier/core';
import { type FileLayer, nodeFileLayer, type StorageFile, writeFileAtomic } from './file-layer.js';
import type { GroupState, GroupStateView } from './group-state.js';
import { applyOp, encodeOpInto, encodeSnapshot, type GroupOp, opSize } from './group-state-codec.js';
import { type GroupRecoveryReport, logName, recoverGroupState, SNAPSHOT } from './group-store-recovery.js';
import { Serial, settle } from './serial.js';
import { closedError, storageError } from './storage-errors.js';
import type { StorageLogger } from './storage-logger.js';
import { type SyncMode, type SyncPolicy, syncMode } from './sync-policy.js';

/** Options of {@link GroupStore.open}. */
export interface GroupStoreOptions {
  /** The directory of the group state files, e.g. `<stream dir>/groups`; created when missing. */
  dir: string;
  /** When changes are forced to disk; `'sync'` by default, as for stream logs. */
  sync?: SyncPolicy;
  /** Compact once the current log passes this many bytes (default 4 MiB). */
  compactAfterBytes?: number;
  /** The file system; the real one by default. */
  fileLayer?: FileLayer;
  /** Where recovery and I/O trouble are reported. */
  log?: StorageLogger;
}

interface Pending {
  op: GroupOp;
  resolve(count: number): void;
  reject(error: unknown): void;
}

const ignore = (): void => undefined;

/** See the module comment. Open with {@link GroupStore.open}. */
export class GroupStore {
  /** What recovery found and did. */
  readonly recovery: GroupRecoveryReport;
  readonly #dir: string;
  readonly #layer: FileLayer;
  readonly #log: StorageLogger;
  readonly #sync: SyncMode;
  readonly #compactAfter: number;
  readonly #groups: Map<string, GroupState>;
  #generation: number;
  #file: StorageFile;
  #size: number;
  #dirty = false;
  #pending: Pending[] = [];
  readonly #pendingCreates = new Set<string>();
  #scheduled = false;
  readonly #serial = new Serial();
  #timer: NodeJS.Timeout | undefined;
  #unsynced = false;
  #closed = false;

  private constructor(
    options: GroupStoreOptions,
    state: { groups: Map<string, GroupState>; generation: number; file: StorageFile; size: number },
    recovery: GroupRecoveryReport,
  ) {
    this.#dir = options.dir;
    this.#layer = options.fileLayer ?? nodeFileLayer;
    this.#log = options.log ?? {};
    this.#sync = syncMode(options.sync);
    this.#compactAfter = options.compactAfterBytes ?? 4 * 1024 * 1024;
    this.#groups = state.groups;
    this.#generation = state.generation;
    this.#file = state.file;
    this.#size = state.size;
    this.recovery = recovery;
    if (this.#sync.mode === 'interval') {
      this.#timer = setInterval(() => void this.#serial.run(() => this.#syncNow()), this.#sync.intervalMs);
      this.#timer.unref();
    }
  }

  /** Opens the group state in `options.dir`: loads the snapshot, replays the logs after it, cuts torn tails. */
  static async open(options: GroupStoreOptions): Promise<GroupStore> {
    syncMode(options.sync);
    const { report, ...state } = await recoverGroupState({
      layer: options.fileLayer ?? nodeFileLayer,
      dir: options.dir,
      log: options.log ?? {},
    });
    return new GroupStore(options, state, report);
  }

  /** The names of every group. */
  names(): string[] {
    return [...this.#groups.keys()];
  }

  /** A read-only view of a group's stored state, or `undefined` when it does not exist. */
  get(name: string): GroupStateView | undefined {
    return this.#groups.get(name);
  }

  /** Creates a group whose floor starts at `ackFloor` (default 0). A group that exists is left as it is. */
  create(name: string, options: { ackFloor?: number } = {}): Promise<void> {
    if (name === '' || Buffer.byteLength(name) > 0xffff) {
      return Promise.reject(new CourierError('INVALID_OPTION', 'a group name must have 1 to 65535 bytes'));
    }
    if (this.#groups.has(name) || this.#pendingCreates.has(name)) return Promise.resolve();
    this.#pendingCreates.add(name);
    return this.#submit({ op: 'create', group: name, ackFloor: options.ackFloor ?? 0 }).then(() => undefined);
  }

  /** Deletes a group and its state. */
  delete(name: string): Promise<void> {
    return this.#submit({ op: 'delete', group: name }).then(() => undefined);
  }

  /** Acknowledges one or many sequences; resolves once stored. */
  ack(name: string, sequences: number | readonly number[]): Promise<void> {
    if (typeof sequences === 'number')
      return this.#submit({
        op: 'ack',
        group: name,
        sequence: sequences,
      }) as Promise<unknown> as Promise<void>;
    return Promise.all(sequences.map((sequence) => this.#submit({ op: 'ack', group: name, sequence }))).then(
      () => undefined,
    );
  }

  /** Acknowledges every sequence up to and including `sequence`. */
  ackThrough(name: string, sequence: number): Promise<void> {
    return this.#submit({ op: 'ackThrough', group: name, sequence }).then(() => undefined);
  }

  /** Counts a delivery of `sequence`; resolves with the stored count (0 if it was already acknowledged). */
  delivered(name: string, sequence: number): Promise<number> {
    return this.#submit({ op: 'delivered', group: name, sequence });
  }

  /**
   * {@link GroupStore.delivered} for a caller that does not wait for the
   * count (the engine, once per delivery): no promise, `onError` is told if
   * it was not stored.
   */
  countDelivery(name: string, sequence: number, onError: (error: unknown) => void): void {
    const refused = this.#refuse({ op: 'delivered', group: name, sequence });
    if (refused) onError(refused);
    else this.#enqueue({ op: 'delivered', group: name, sequence }, ignore, onError);
  }

  /** Writes a snapshot and starts a new log now (it also happens by itself past `compactAfterBytes`). */
  compact(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError(`group state ${this.#dir}`));
    return this.#serial.run(() => this.#compact());
  }

  /** Resolves once every change made before the call has settled. */
  async flush(): Promise<void> {
    await settle(this.#serial, () => this.#pending.length > 0 || this.#scheduled);
  }

  /** Settles pending changes, syncs and closes the log. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#serial.run(async () => {
      if (this.#sync.mode !== 'sync') await this.#syncNow();
      await this.#file.close();
    });
  }

  /** Same as {@link GroupStore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #submit(op: GroupOp): Promise<number> {
    const refused = this.#refuse(op);
    if (refused) return Promise.reject(refused);
    return new Promise<number>((resolve, reject) => this.#enqueue(op, resolve, reject));
  }

  /** Why `op` cannot be taken now, if it cannot. */
  #refuse(op: GroupOp): CourierError | undefined {
    if (this.#closed) return closedError(`group state ${this.#dir}`);
    if (op.op !== 'create' && !this.#groups.has(op.group) && !this.#pendingCreates.has(op.group)) {
      return new CourierError(
        'NOT_FOUND',
        `group ${op.group} does not exist in ${this.#dir}; create it first`,
      );
    }
    if (
      op.op !== 'create' &&
      op.op !== 'delete' &&
      !(Number.isSafeInteger(op.sequence) && op.sequence >= 0)
    ) {
      return new CourierError('INVALID_OPTION', `sequence ${op.sequence} is not a non-negative integer`);
    }
    return undefined;
  }

  #enqueue(op: GroupOp, resolve: (count: number) => void, reject: (error: unknown) => void): void {
    this.#pending.push({ op, resolve, reject });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#kick);
    }
  }

  readonly #kick = (): void => {
    this.#scheduled = false;
    void this.#serial.run(() => this.#commit());
  };

  async #commit(): Promise<void> {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const chunk = this.#encode(batch);
    try {
      await this.#write(chunk);
    } catch (cause) {
      const error = storageError(cause, {
        action: `storing ${batch.length} group state changes`,
        path: join(this.#dir, logName(this.#generation)),
        outcome:
          'those changes were not stored (acknowledged messages may be redelivered) and earlier ones are intact',
      });
      this.#log.error?.({ dir: this.#dir, error: cause }, error.message);
      for (const p of batch) {
        if (p.op.op === 'create') this.#pendingCreates.delete(p.op.group);
        p.reject(error);
      }
      return;
    }
    for (const p of batch) {
      const count = applyOp(this.#groups, p.op);
      if (p.op.op === 'create') this.#pendingCreates.delete(p.op.group);
      p.resolve(count);
    }
    if (this.#size >= this.#compactAfter) {
      await this.#compact().catch((error: unknown) => {
        this.#log.warn?.(
          { dir: this.#dir, error },
          'group state compaction failed; the log keeps growing until it succeeds',
        );
      });
    }
  }

  /** Every op of `batch` framed into one buffer, group names encoded once per name. */
  #encode(batch: readonly Pending[]): Buffer {
    const names = new Map<string, Buffer>();
    let size = 0;
    for (const { op } of batch) {
      let name = names.get(op.group);
      if (!name) {
        name = Buffer.from(op.group, 'utf8');
        names.set(op.group, name);
      }
      size += opSize(op, name.length);
    }
    const chunk = Buffer.allocUnsafe(size);
    let offset = 0;
    for (const { op } of batch) offset = encodeOpInto(chunk, offset, op, names.get(op.group) as Buffer);
    return chunk;
  }

  /** Appends `chunk`; on failure cuts the log back so it never holds a change that was reported as failed. */
  async #write(chunk: Buffer): Promise<void> {
    if (this.#dirty) {
      await this.#file.truncate(this.#size);
      this.#dirty = false;
    }
    try {
      await this.#file.write(chunk, this.#size);
      if (this.#sync.mode === 'sync') await this.#file.datasync();
    } catch (error) {
      this.#dirty = true;
      await this.#file
        .truncate(this.#size)
        .then(() => {
          this.#dirty = false;
        })
        .catch(() => undefined);
      throw error;
    }
    this.#size += chunk.length;
    this.#unsynced = true;
  }

  async #compact(): Promise<void> {
    const next = this.#generation + 1;
    const nextPath = join(this.#dir, logName(next));
    const snapshot = encodeSnapshot(this.#groups, next);
    const file = await this.#layer.open(nextPath, 'replace');
    try {
      // The directory sync inside also makes the new log's entry durable.
      await writeFileAtomic(this.#layer, { dir: this.#dir, path: join(this.#dir, SNAPSHOT), data: snapshot });
    } catch (error) {
      await file.close().catch(() => undefined);
      await this.#layer.unlink(nextPath).catch(() => undefined);
      throw storageError(error, {
        action: 'compacting group state',
        path: join(this.#dir, SNAPSHOT),
        outcome: 'the state is intact in the current log',
      });
    }
    const old = this.#file;
    const oldPath = join(this.#dir, logName(this.#generation));
    this.#file = file;
    this.#generation = next;
    this.#size = 0;
    this.#dirty = false;
    this.#unsynced = false;
    await old.close().catch(() => undefined);
    await this.#layer.unlink(oldPath).catch((error: unknown) => {
      this.#log.warn?.(
        { path: oldPath, error },
        'could not remove an obsolete group state log; it is removed on next open',
      );
    });
  }

  async #syncNow(): Promise<void> {
    if (!this.#unsynced) return;
    this.#unsynced = false;
    try {
      await this.#file.datasync();
    } catch (error) {
      this.#unsynced = true;
      this.#log.error?.(
        { dir: this.#dir, error },
        'periodic fdatasync of group state failed; check the disk',
      );
    }
  }
}
