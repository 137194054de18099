/**
 * How one member settles its deliveries in Redis: ack, nack (now or after a
 * delay), dead-letter and touch, each one command or one script. Scripts that
 * change where a message lives first check that the entry is still this
 * delivery (pending on this consumer with this delivery count), so a
 * delivery another member has since taken over is not settled twice.
 */
import type { RawMessage, WireError } from '@courier/core';
import type { Redis } from 'ioredis';
import { encodeFields } from './entry-codec.js';
import type { Keys } from './keys.js';
import { ackPrivateScript, deadLetterScript, nackScript, touchScript } from './scripts.js';
import { token } from './token.js';

/** Which entry a delivery is: in the main (0) or private (1) stream, with its delivery count. */
export interface EntryRef {
  readonly index: 0 | 1;
  readonly id: string;
  readonly count: number;
}

/** Where a member's deliveries live. */
export interface SettlementOptions {
  readonly redis: Redis;
  readonly keys: Keys;
  readonly gid: string;
  readonly group: string;
  readonly pattern: string;
  /** The main and private stream keys. */
  readonly streams: readonly [string, string];
  /** This member's consumer name. */
  readonly name: string;
}

/** Settles one member's deliveries. */
export class GroupSettlement {
  readonly #o: SettlementOptions;

  constructor(options: SettlementOptions) {
    this.#o = options;
  }

  ack(entry: EntryRef): Promise<unknown> {
    const { redis, keys, group, streams } = this.#o;
    const key = streams[entry.index];
    return entry.index === 0
      ? redis.xack(key, group, entry.id)
      : ackPrivateScript.run(redis, [keys.root, key, group, entry.id]);
  }

  /** Back to the group now (`delay` 0) or after `delay` ms, counting `attempts` so far. */
  nack(entry: EntryRef, options: { message: RawMessage; attempts: number; delay: number; now: number }) {
    const { redis, keys, gid, group, streams, name } = this.#o;
    return nackScript.run(redis, [
      keys.root,
      gid,
      streams[entry.index],
      group,
      entry.id,
      name,
      entry.count,
      entry.index,
      Math.max(Math.floor(options.delay), 0),
      options.now,
      options.attempts,
      token(),
      ...encodeFields(options.message),
    ]);
  }

  deadLetter(entry: EntryRef, options: { message: RawMessage; error: WireError; attempts: number }) {
    const { redis, keys, group, pattern, streams, name } = this.#o;
    return deadLetterScript.run(redis, [
      keys.root,
      streams[entry.index],
      group,
      entry.id,
      name,
      entry.count,
      entry.index,
      keys.deadLetters(group),
      pattern,
      JSON.stringify(options.error),
      options.attempts,
      Date.now(),
      ...encodeFields(options.message),
    ]);
  }

  /** Restarts the entry's idle time, if it is still this delivery. Fire and forget. */
  touch(entry: EntryRef): void {
    const { redis, keys, group, streams, name } = this.#o;
    touchScript
      .run(redis, [keys.root, streams[entry.index], group, entry.id, name, entry.count])
      .catch(() => undefined);
  }

  /**
   * Dead-letters an entry that is not a Courier message (another program
   * wrote it), with the reason and its fields (base64) as the data.
   */
  quarantine(entry: EntryRef, fields: readonly Buffer[], error: unknown): Promise<unknown> {
    const raw: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) {
      raw[(fields[i] as Buffer).toString()] = (fields[i + 1] as Buffer).toString('base64');
    }
    const message: RawMessage = {
      id: `redis:${entry.id}`,
      subject: this.#o.pattern.replaceAll('*', '_').replaceAll('>', '_'),
      payload: new TextEncoder().encode(JSON.stringify(raw)),
      contentType: 'application/json',
      headers: { 'x-redis-entry': entry.id },
      time: Date.now(),
      source: 'redis',
    };
    return this.deadLetter(entry, {
      message,
      attempts: entry.count,
      error: {
        code: 'INVALID_MESSAGE',
        message: `${(error as Error).message}; its fields (base64) are in the dead letter's data`,
        retryable: false,
      },
    });
  }
}
