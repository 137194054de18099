/**
 * Temporary directories for storage tests: created under the OS temp dir and
 * removed by the returned disposer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory and a function that removes it. */
export async function tempDir(
  prefix = 'courier-storage-',
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A small deterministic PRNG (mulberry32) so crash images are reproducible from a fast-check seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A payload that encodes its own id, so a test can tell a record was appended exactly as read. */
export function payloadFor(id: string, size = 32): Buffer {
  const body = Buffer.alloc(Math.max(size, id.length));
  body.write(id);
  for (let i = id.length; i < body.length; i++) body[i] = (i * 31 + id.length) & 0xff;
  return body;
}
