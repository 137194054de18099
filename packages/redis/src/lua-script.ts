/**
 * Runs Lua scripts by hash, loading them again when the server does not know
 * them (after a restart or `SCRIPT FLUSH`). Every script takes its key names
 * from ARGV and numkeys 0: they compute keys from the namespace prefix, which
 * a standalone server allows (a cluster is not supported, see the docs).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** What a script argument can be. */
export type ScriptArg = string | Buffer | number;

/** One Lua script. */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; `buffers` returns bulk strings as Buffers. */
  async run(redis: Redis, args: ReadonlyArray<ScriptArg>, buffers = false): Promise<unknown> {
    // The generated command methods, not `call`: ioredis auto-pipelines them (it crashes auto-pipelining
    // `call`). The `...Buffer` variants exist at run time but are missing from ioredis's types.
    const commands = redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const suffix = buffers ? 'Buffer' : '';
    try {
      return await (commands[`evalsha${suffix}`] as (...a: unknown[]) => Promise<unknown>).call(
        redis,
        this.sha,
        0,
        ...args,
      );
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return (commands[`eval${suffix}`] as (...a: unknown[]) => Promise<unknown>).call(
        redis,
        this.source,
        0,
        ...args,
      );
    }
  }
}
