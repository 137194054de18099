/**
 * A simulated file system for fault tests. It keeps, per file, what the
 * program wrote and what a sync made durable, and, per directory, which
 * entry changes a directory sync made durable. `crashImage()` returns the
 * disk as a machine that lost power would find it: durable data plus a random
 * prefix of what was not synced yet. It also injects I/O errors and a
 * capacity that makes writes fail with `ENOSPC`.
 */
import { basename, dirname } from 'node:path';
import type { FileLayer, OpenMode, StorageFile } from './file-layer.js';

interface Inode {
  data: Buffer;
  durable: Buffer;
}

type DirOp =
  | { kind: 'link'; name: string; inode: Inode }
  | { kind: 'unlink'; name: string }
  | { kind: 'rename'; from: string; name: string; inode: Inode };

/** An operation of the file layer, for fault injection. */
export type MemoryFileOp =
  | 'open'
  | 'write'
  | 'datasync'
  | 'sync'
  | 'truncate'
  | 'rename'
  | 'unlink'
  | 'syncDir';

/** An error to raise from matching operations. */
export interface InjectedFault {
  /** The operation that fails. */
  op: MemoryFileOp;
  /** The errno code, e.g. `EIO` or `ENOSPC`. */
  code: string;
  /** Only paths that match; every path when absent. */
  path?: RegExp;
  /** How many times to fail; forever when absent. */
  times?: number;
}

/** Options for {@link MemoryFileLayer}. */
export interface MemoryFileLayerOptions {
  /** Total bytes all files may hold; writes beyond fail with `ENOSPC` after writing what fits. */
  capacityBytes?: number;
  /** Called after every operation with a running count, e.g. to take a crash image at a chosen moment. */
  onOperation?: (count: number, op: MemoryFileOp) => void;
}

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

function grow(data: Buffer, size: number): Buffer {
  if (size <= data.length) return data;
  const next = Buffer.alloc(size);
  data.copy(next);
  return next;
}

function commonPrefix(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The simulated file system; see the module comment. */
export class MemoryFileLayer implements FileLayer {
  /** The directories that exist. */
  readonly #dirs = new Set<string>();
  /** The entries as the program sees them. */
  readonly #entries = new Map<string, Inode>();
  /** The entries as they stood at the last sync of each directory, plus changes not yet synced. */
  readonly #durableEntries = new Map<string, Inode>();
  readonly #pendingDirOps = new Map<string, DirOp[]>();
  readonly #faults: InjectedFault[] = [];
  readonly #options: MemoryFileLayerOptions;
  #operations = 0;

  constructor(options: MemoryFileLayerOptions = {}) {
    this.#options = options;
  }

  /** Makes matching operations fail until the fault is used up. */
  inject(fault: InjectedFault): void {
    this.#faults.push({ ...fault });
  }

  /** Removes every injected fault. */
  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Changes the capacity (e.g. to let a full disk recover). */
  setCapacity(bytes: number | undefined): void {
    if (bytes === undefined) delete this.#options.capacityBytes;
    else this.#options.capacityBytes = bytes;
  }

  /** Bytes held by all files. */
  usedBytes(): number {
    let total = 0;
    for (const inode of new Set(this.#entries.values())) total += inode.data.length;
    return total;
  }

  /** The current bytes of `path`, for tests that damage files. */
  fileData(path: string): Buffer | undefined {
    return this.#entries.get(path)?.data;
  }

  /** Replaces the bytes of `path` as if written and synced (test setup). */
  setFileData(path: string, data: Buffer): void {
    const inode = this.#entries.get(path);
    if (!inode) throw errno('ENOENT', path);
    inode.data = Buffer.from(data);
    inode.durable = Buffer.from(data);
  }

  /**
   * The disk after a power loss now: every durable byte, and for each file
   * and directory a random prefix of the changes not yet synced. `options`
   * configure the returned layer.
   */
  crashImage(random: () => number = Math.random, options: MemoryFileLayerOptions = {}): MemoryFileLayer {
    const image = new MemoryFileLayer(options);
    for (const dir of this.#dirs) image.#dirs.add(dir);
    const entries = new Map(this.#durableEntries);
    for (const [dir, ops] of this.#pendingDirOps) {
      const keep = Math.floor(random() * (ops.length + 1));
      for (const op of ops.slice(0, keep)) applyDirOp(entries, dir, op);
    }
    const survivors = new Map<Inode, Inode>();
    for (const [path, inode] of entries) {
      let copy = survivors.get(inode);
      if (!copy) {
        const from = commonPrefix(inode.data, inode.durable);
        const data =
          random() < 0.3
            ? inode.durable
            : inode.data.subarray(0, from + Math.floor(random() * (inode.data.length - from + 1)));
        copy = { data: Buffer.from(data), durable: Buffer.from(data) };
        survivors.set(inode, copy);
      }
      image.#entries.set(path, copy);
      image.#durableEntries.set(path, copy);
    }
    return image;
  }

  async #step(op: MemoryFileOp, path: string): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#operations++;
    this.#options.onOperation?.(this.#operations, op);
    const index = this.#faults.findIndex((f) => f.op === op && (!f.path || f.path.test(path)));
    if (index === -1) return;
    const fault = this.#faults[index]!;
    if (fault.times !== undefined && --fault.times <= 0) this.#faults.splice(index, 1);
    throw errno(fault.code, `injected ${op} failure on ${path}`);
  }

  #dirOp(path: string, op: DirOp): void {
    const dir = dirname(path);
    const ops = this.#pendingDirOps.get(dir) ?? [];
    ops.push(op);
    this.#pendingDirOps.set(dir, ops);
  }

  #file(path: string, inode: Inode): StorageFile {
    const layer = this;
    let closed = false;
    const check = () => {
      if (closed) throw errno('EBADF', `${path} is closed`);
    };
    return {
      async read(buffer, position) {
        check();
        const n = Math.max(0, Math.min(buffer.length, inode.data.length - position));
        inode.data.copy(buffer, 0, position, position + n);
        return n;
      },
      async write(buffer, position) {
        await layer.#step('write', path);
        check();
        let length = buffer.length;
        const capacity = layer.#options.capacityBytes;
        let full = false;
        if (capacity !== undefined) {
          const growth = Math.max(0, position + length - inode.data.length);
          const free = capacity - layer.usedBytes();
          if (growth > free) {
            length = Math.max(0, inode.data.length - position + Math.max(0, free));
            full = true;
          }
        }
        inode.data = grow(inode.data, position + length);
        inode.data.set(buffer.subarray(0, length), position);
        if (full) throw errno('ENOSPC', `no space left writing ${path}`);
      },
      async datasync() {
        await layer.#step('datasync', path);
        check();
        inode.durable = Buffer.from(inode.data);
      },
      async sync() {
        await layer.#step('sync', path);
        check();
        inode.durable = Buffer.from(inode.data);
      },
      async truncate(size) {
        await layer.#step('truncate', path);
        check();
        inode.data =
          size <= inode.data.length ? Buffer.from(inode.data.subarray(0, size)) : grow(inode.data, size);
      },
      async size() {
        check();
        return inode.data.length;
      },
      async close() {
        closed = true;
      },
    };
  }

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    await this.#step('open', path);
    if (!this.#dirs.has(dirname(path))) throw errno('ENOENT', `no directory for ${path}`);
    let inode = this.#entries.get(path);
    if (mode === 'read-write' && !inode) throw errno('ENOENT', path);
    if (mode === 'create' && inode) throw errno('EEXIST', path);
    if (!inode) {
      inode = { data: Buffer.alloc(0), durable: Buffer.alloc(0) };
      this.#entries.set(path, inode);
      this.#dirOp(path, { kind: 'link', name: basename(path), inode });
    } else if (mode === 'replace') {
      inode.data = Buffer.alloc(0);
    }
    return this.#file(path, inode);
  }

  async mkdir(dir: string): Promise<void> {
    // Directories are created durably: the layer models file and entry durability, not mkdir's.
    for (let d = dir; !this.#dirs.has(d) && d !== dirname(d); d = dirname(d)) this.#dirs.add(d);
  }

  async readdir(dir: string): Promise<string[]> {
    if (!this.#dirs.has(dir)) throw errno('ENOENT', dir);
    const names: string[] = [];
    for (const path of this.#entries.keys())
      if (dirname(path) === dir) names.push(path.slice(dir.length + 1));
    return names;
  }

  async rename(from: string, to: string): Promise<void> {
    await this.#step('rename', from);
    const inode = this.#entries.get(from);
    if (!inode) throw errno('ENOENT', from);
    if (dirname(from) !== dirname(to)) throw errno('EXDEV', 'renames stay inside one directory here');
    this.#entries.delete(from);
    this.#entries.set(to, inode);
    // One op, so no crash prefix can split a rename.
    this.#dirOp(to, { kind: 'rename', from: basename(from), name: basename(to), inode });
  }

  async unlink(path: string): Promise<void> {
    await this.#step('unlink', path);
    if (!this.#entries.delete(path)) return;
    this.#dirOp(path, { kind: 'unlink', name: basename(path) });
  }

  async syncDir(dir: string): Promise<void> {
    await this.#step('syncDir', dir);
    for (const op of this.#pendingDirOps.get(dir) ?? []) applyDirOp(this.#durableEntries, dir, op);
    this.#pendingDirOps.delete(dir);
  }
}

function applyDirOp(entries: Map<string, Inode>, dir: string, op: DirOp): void {
  if (op.kind === 'rename') entries.delete(`${dir}/${op.from}`);
  if (op.kind === 'unlink') entries.delete(`${dir}/${op.name}`);
  else entries.set(`${dir}/${op.name}`, op.inode);
}
