/**
 * The file system as storage sees it: a handful of positional operations and
 * directory calls. Production uses {@link nodeFileLayer}; tests inject layers
 * that fail writes, fill the disk or simulate crashes, without touching the
 * code under test.
 */
import * as fs from 'node:fs';

/** An open file. Positions and sizes are byte offsets from the start. */
export interface StorageFile {
  /** Reads up to `buffer.length` bytes at `position`; resolves with the count read (0 at end of file). */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /**
   * Writes all of `buffer` at `position`. On failure some prefix may have
   * reached the file; the caller truncates it away.
   */
  write(buffer: Uint8Array, position: number): Promise<void>;
  /** Flushes the file's data (not necessarily its metadata other than size) to stable storage. */
  datasync(): Promise<void>;
  /** Flushes the file's data and metadata to stable storage. */
  sync(): Promise<void>;
  /** Cuts the file to `size` bytes. */
  truncate(size: number): Promise<void>;
  /** The current size in bytes. */
  size(): Promise<number>;
  /** Closes the file. */
  close(): Promise<void>;
}

/**
 * How to open a file: `read-write` opens an existing file, `create` creates
 * it or fails when it exists, `replace` creates or empties it.
 */
export type OpenMode = 'read-write' | 'create' | 'replace';

/** The file system operations storage needs. */
export interface FileLayer {
  /** Opens `path` in `mode`. */
  open(path: string, mode: OpenMode): Promise<StorageFile>;
  /** Creates `dir` and its parents when missing. */
  mkdir(dir: string): Promise<void>;
  /** Lists the names in `dir`. */
  readdir(dir: string): Promise<string[]>;
  /** Renames atomically, replacing `to` when it exists. */
  rename(from: string, to: string): Promise<void>;
  /** Removes `path`; a missing file is not an error. */
  unlink(path: string): Promise<void>;
  /** Flushes `dir`'s entries (creations, renames) to stable storage. */
  syncDir(dir: string): Promise<void>;
}

const OPEN_FLAGS: Record<OpenMode, string> = { 'read-write': 'r+', create: 'wx+', replace: 'w+' };

function call<T>(run: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error) : resolve(value)));
  });
}

function nodeFile(fd: number): StorageFile {
  async function writeAll(buffer: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < buffer.length) {
      const written = await call<number>((cb) =>
        fs.write(fd, buffer, done, buffer.length - done, position + done, cb),
      );
      if (written === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      done += written;
    }
  }
  return {
    read: (buffer, position) => call<number>((cb) => fs.read(fd, buffer, 0, buffer.length, position, cb)),
    write: writeAll,
    datasync: () => call<void>((cb) => fs.fdatasync(fd, (error) => cb(error, undefined))),
    sync: () => call<void>((cb) => fs.fsync(fd, (error) => cb(error, undefined))),
    truncate: (size) => call<void>((cb) => fs.ftruncate(fd, size, (error) => cb(error, undefined))),
    size: async () => (await call<fs.Stats>((cb) => fs.fstat(fd, cb))).size,
    close: () => call<void>((cb) => fs.close(fd, (error) => cb(error, undefined))),
  };
}

/** The real file system, through Node's `fs` with raw descriptors (no stream or FileHandle overhead). */
export const nodeFileLayer: FileLayer = {
  async open(path, mode) {
    const fd = await call<number>((cb) => fs.open(path, OPEN_FLAGS[mode], 0o644, cb));
    return nodeFile(fd);
  },
  async mkdir(dir) {
    await fs.promises.mkdir(dir, { recursive: true });
  },
  readdir: (dir) => fs.promises.readdir(dir),
  rename: (from, to) => fs.promises.rename(from, to),
  async unlink(path) {
    try {
      await fs.promises.unlink(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  },
  async syncDir(dir) {
    const fd = await call<number>((cb) => fs.open(dir, 'r', cb));
    try {
      await call<void>((cb) => fs.fsync(fd, (error) => cb(error, undefined)));
    } finally {
      await call<void>((cb) => fs.close(fd, (error) => cb(error, undefined)));
    }
  },
};

/** Reads a whole file through `layer`, or `undefined` when it does not exist. */
export async function readWholeFile(layer: FileLayer, path: string): Promise<Buffer | undefined> {
  let file: StorageFile;
  try {
    file = await layer.open(path, 'read-write');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const size = await file.size();
    const buffer = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = await file.read(buffer.subarray(done), done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  } finally {
    await file.close();
  }
}

/**
 * Replaces `path` atomically: writes `data` to `path.tmp`, fsyncs it, renames
 * it over `path` and fsyncs the directory, so a crash leaves either the old
 * file or the new one, never a mix.
 */
export async function writeFileAtomic(
  layer: FileLayer,
  options: { dir: string; path: string; data: Uint8Array },
): Promise<void> {
  const temp = `${options.path}.tmp`;
  const file = await layer.open(temp, 'replace');
  try {
    await file.write(options.data, 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await layer.rename(temp, options.path);
  await layer.syncDir(options.dir);
}
