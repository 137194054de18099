/**
 * The dead-letter store: one stream per group (`{prefix}:dl:<group>`), an
 * entry per dead letter with the subscription's pattern, the error (JSON),
 * the attempts and the time before the message's own fields. A replay moves
 * the entry into its (group, pattern)'s private stream, so only that group
 * sees it again, with attempts counted afresh.
 */
import type { DeadLetter, DeadLetterStore, WireError } from '@courier/core';
import type { Redis } from 'ioredis';
import { decodeFields } from './entry-codec.js';
import type { Keys } from './keys.js';
import { replayScript } from './scripts.js';

type RawEntry = [Buffer, Buffer[]];

const PAGE = 500;

function parseError(json: string): WireError {
  try {
    const parsed = JSON.parse(json) as Partial<WireError>;
    const error: WireError = {
      code: typeof parsed.code === 'string' ? parsed.code : 'INTERNAL',
      message: typeof parsed.message === 'string' ? parsed.message : 'unknown error',
      retryable: parsed.retryable === true,
    };
    if (parsed.data !== undefined) error.data = parsed.data;
    return error;
  } catch {
    return { code: 'INTERNAL', message: json, retryable: false };
  }
}

/** Decodes a dead-letter entry, or `undefined` when it is not one Courier wrote. */
export function decodeDeadLetter(group: string, fields: Buffer[]): DeadLetter | undefined {
  if (fields.length < 8 || fields[0]?.toString() !== '_p') return undefined;
  try {
    const { message } = decodeFields(fields.slice(8));
    return {
      message,
      group,
      pattern: (fields[1] as Buffer).toString(),
      error: parseError((fields[3] as Buffer).toString()),
      attempts: Number((fields[5] as Buffer).toString()),
      time: Number((fields[7] as Buffer).toString()),
    };
  } catch {
    return undefined;
  }
}

/** Dead letters kept in Redis. */
export class RedisDeadLetters implements DeadLetterStore {
  readonly #redis: () => Redis;
  readonly #keys: Keys;

  constructor(redis: () => Redis, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async list(group: string, options: { limit?: number } = {}): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for await (const [, fields] of this.#entries(group)) {
      const entry = decodeDeadLetter(group, fields);
      if (entry) out.push(entry);
      if (options.limit !== undefined && out.length >= options.limit) break;
    }
    return out;
  }

  async replay(group: string, ids?: readonly string[]): Promise<number> {
    const selected = await this.#select(group, ids);
    let replayed = 0;
    for (const entryId of selected) {
      const moved = await replayScript.run(this.#redis(), [
        this.#keys.root,
        this.#keys.deadLetters(group),
        entryId,
        group,
      ]);
      replayed += Number(moved);
    }
    return replayed;
  }

  async purge(group: string, ids?: readonly string[]): Promise<number> {
    const selected = await this.#select(group, ids);
    let purged = 0;
    for (let i = 0; i < selected.length; i += PAGE) {
      const chunk = selected.slice(i, i + PAGE);
      purged += await this.#redis().xdel(this.#keys.deadLetters(group), ...chunk);
    }
    return purged;
  }

  /** The entry ids of the group's dead letters with the given message ids (all without ids). */
  async #select(group: string, ids: readonly string[] | undefined): Promise<string[]> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    const selected: string[] = [];
    for await (const [entryId, fields] of this.#entries(group)) {
      if (wanted === undefined) selected.push(entryId.toString());
      else {
        const entry = decodeDeadLetter(group, fields);
        if (entry && wanted.has(entry.message.id)) selected.push(entryId.toString());
      }
    }
    return selected;
  }

  async *#entries(group: string): AsyncGenerator<RawEntry> {
    let start = '-';
    for (;;) {
      const page = (await this.#redis().xrangeBuffer(
        this.#keys.deadLetters(group),
        start,
        '+',
        'COUNT',
        PAGE,
      )) as RawEntry[];
      yield* page;
      if (page.length < PAGE) return;
      start = `(${(page[page.length - 1] as RawEntry)[0].toString()}`;
    }
  }
}
