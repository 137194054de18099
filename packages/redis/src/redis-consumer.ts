/**
 * One member of a group on Redis Streams. It reads the group's main stream
 * (the subject's log, or the wildcard pattern's stream) and the group's
 * private stream (retries and replays) with one blocking `XREADGROUP` per
 * round, never more entries than it has credit for. Its upkeep moves due
 * retries back into the private stream and claims entries that another
 * member let idle past that member's ackWait, or that a member whose
 * connection is gone still holds (see `member-liveness.ts`).
 */
import type { ConsumeOptions, Consumer, Delivery, WireError } from '@courier/core';
import { hasWildcards } from '@courier/core';
import { bounded } from '@courier/core/internal';
import type { Redis } from 'ioredis';
import { type DecodedEntry, decodeFields } from './entry-codec.js';
import { type EntryRef, GroupSettlement } from './group-settlement.js';
import { groupId, type Keys } from './keys.js';
import { MemberLiveness } from './member-liveness.js';
import { GOODBYE_WAIT } from './options.js';
import { attachScript, detachScript, recoverScript, upkeepScript } from './scripts.js';

/** What a consumer needs from its transport. */
export interface ConsumerHost {
  /** The shared command connection. */
  readonly redis: Redis;
  readonly keys: Keys;
  /** How often the upkeep runs, in ms. */
  readonly upkeepInterval: number;
  /** How long a blocking read waits before it is issued again, in ms. */
  readonly blockTime: number;
  /** A new connection for blocking reads, named after this connection. */
  blocking(role: string): Redis;
  /** The name `blocking(role)` gives its connection (as `CLIENT LIST` shows it). */
  readerName(role: string): string;
  onError(error: unknown): void;
}

/** A message handed out and not yet settled. */
interface Held {
  /** The delivery count when it was handed out: a later claim makes it stale. */
  count: number;
}

type RawEntry = [Buffer, Buffer[] | null];

/** The ackWait assumed for a member that did not record its own (it detached). */
const DEFAULT_ACK_WAIT = 30_000;

/** A member of a group. */
export class RedisConsumer implements Consumer {
  readonly #host: ConsumerHost;
  readonly #options: ConsumeOptions;
  readonly #onDelivery: (delivery: Delivery) => void;
  readonly #name: string;
  readonly #wildcard: boolean;
  readonly #gid: string;
  readonly #streams: readonly [string, string];
  readonly #held = new Map<string, Held>();
  #reader: Redis | undefined;
  #stopped = false;
  #closed: Promise<void> | undefined;
  #loop: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #recover = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #nextClaim = 0;
  readonly #liveness: MemberLiveness;
  readonly #settlement: GroupSettlement;

  constructor(
    host: ConsumerHost,
    options: ConsumeOptions,
    onDelivery: (delivery: Delivery) => void,
    name: string,
  ) {
    this.#host = host;
    this.#options = options;
    this.#onDelivery = onDelivery;
    this.#name = name;
    this.#wildcard = hasWildcards(options.subject);
    this.#gid = groupId(options.subject, options.group);
    this.#streams = [
      host.keys.main(options.subject, this.#wildcard),
      host.keys.private(options.subject, options.group),
    ];
    this.#settlement = new GroupSettlement({
      redis: host.redis,
      keys: host.keys,
      gid: this.#gid,
      group: options.group,
      pattern: options.subject,
      streams: this.#streams,
      name,
    });
    this.#liveness = new MemberLiveness({
      redis: host.redis,
      keys: host.keys,
      upkeepInterval: host.upkeepInterval,
      gid: this.#gid,
      group: options.group,
      main: this.#streams[0],
      name,
      readerName: host.readerName(name),
      ackWait: options.ackWait,
    });
  }

  /** Creates the group if needed, registers the member and starts reading. */
  async start(): Promise<void> {
    await this.#attach();
    const reader = this.#host.blocking(this.#name);
    this.#reader = reader;
    let first = true;
    reader.on('ready', () => {
      if (first) {
        first = false;
        return;
      }
      // A reconnect may have lost the reply of a read the server had already served: claim those again.
      this.#recover = true;
      // The new connection has a new id: record it before other members take us for dead.
      if (!this.#closed) void this.#liveness.register();
    });
    await reader.connect();
    await this.#liveness.register();
    this.#loop = this.#read();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stopped = true;
      this.#wake?.();
      clearTimeout(this.#timer);
      this.#reader?.disconnect();
      // A server that is down gets no goodbye: our pending entries go to other members after the ackWait.
      if (this.#host.redis.status !== 'ready') return;
      // The loop may be in a claim on the command connection, which waits while ioredis reconnects.
      await bounded(this.#loop, GOODBYE_WAIT, undefined);
      const detached = detachScript
        .run(this.#host.redis, [
          this.#host.keys.root,
          this.#options.group,
          this.#options.subject,
          this.#wildcard ? '1' : '0',
          this.#options.durable ? '1' : '0',
          this.#name,
        ])
        .then(
          () => undefined,
          // The server will hand our pending entries to another member after our ackWait.
          (error: unknown) => this.#host.onError(error),
        );
      await bounded(detached, GOODBYE_WAIT, undefined);
    })();
    return this.#closed;
  }

  /** Drops the member as a crashed process would: no goodbye, its entries wait out the ackWait. */
  kill(): void {
    this.#stopped = true;
    this.#closed ??= Promise.resolve();
    this.#wake?.();
    clearTimeout(this.#timer);
    this.#reader?.disconnect();
  }

  #attach(): Promise<unknown> {
    const { group, subject, deliver, durable, ackWait } = this.#options;
    return attachScript.run(this.#host.redis, [
      this.#host.keys.root,
      group,
      subject,
      this.#wildcard ? '1' : '0',
      deliver === 'all' ? '0' : '$',
      durable ? '1' : '0',
      this.#name,
      ackWait,
    ]);
  }

  get #credit(): number {
    return this.#options.maxInFlight - this.#held.size;
  }

  async #read(): Promise<void> {
    const reader = this.#reader as Redis;
    let failures = 0;
    while (!this.#stopped) {
      // Read again once half the credit is free (or nothing is held), so that reads come in batches.
      if (this.#credit < Math.max(Math.floor(this.#options.maxInFlight / 2), 1) && this.#held.size > 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      try {
        if (this.#recover) {
          this.#recover = false;
          await this.#recoverOwn();
          continue;
        }
        // Claims run here, between reads, so that the credit they use is exact.
        if (Date.now() >= this.#nextClaim) {
          this.#nextClaim = Date.now() + this.#host.upkeepInterval;
          await this.#upkeep(this.#credit);
          continue;
        }
        const reply = (await reader.callBuffer('XREADGROUP', [
          'GROUP',
          this.#options.group,
          this.#name,
          'COUNT',
          this.#credit,
          'BLOCK',
          Math.max(Math.min(this.#host.blockTime, this.#nextClaim - Date.now()), 1),
          'STREAMS',
          this.#streams[0],
          this.#streams[1],
          '>',
          '>',
        ])) as Array<[Buffer, RawEntry[]]> | null;
        failures = 0;
        if (!reply) continue;
        for (const [key, entries] of reply) {
          const index = key.toString() === this.#streams[0] ? 0 : 1;
          for (const [id, fields] of entries) this.#deliver(index, id.toString(), 1, fields);
        }
      } catch (error) {
        if (this.#stopped) return;
        failures++;
        if (String((error as Error).message).startsWith('NOGROUP')) {
          // The group vanished (a server restarted without persistence, or someone deleted it): create it again.
          await this.#attach().catch((e: unknown) => this.#host.onError(e));
        } else if (failures === 1 || failures % 50 === 0) {
          this.#host.onError(error);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * failures, 1000)));
      }
    }
  }

  async #recoverOwn(): Promise<void> {
    for (const index of [0, 1] as const) {
      const skip = [...this.#held.keys()].filter((k) => k.startsWith(`${index}:`)).map((k) => k.slice(2));
      const claimed = (await recoverScript.run(
        this.#host.redis,
        [this.#host.keys.root, this.#streams[index], this.#options.group, this.#name, 1000, ...skip],
        true,
      )) as Array<[Buffer, number, Buffer[]]>;
      for (const [id, count, fields] of claimed) this.#deliver(index, id.toString(), Number(count), fields);
    }
  }

  /** Runs the upkeep at `at` unless it is already due sooner. */
  #schedule(at: number): void {
    if (this.#closed || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timerAt = Number.POSITIVE_INFINITY;
        void this.#upkeep(0);
      },
      Math.max(at - Date.now(), 0),
    );
    this.#timer.unref();
  }

  /**
   * Moves due retries into the private stream and, with `limit` > 0, claims
   * entries left idle past their holder's ackWait. Moves are safe at any time;
   * claims only from the read loop, which knows the free credit.
   */
  async #upkeep(limit: number): Promise<void> {
    if (this.#closed) return;
    let next = Number.POSITIVE_INFINITY;
    try {
      const [due, claimed, holders] = (await upkeepScript.run(
        this.#host.redis,
        [
          this.#host.keys.root,
          this.#gid,
          this.#options.group,
          this.#streams[0],
          this.#name,
          Date.now(),
          this.#stopped ? 0 : Math.max(limit, 0),
          DEFAULT_ACK_WAIT,
        ],
        true,
      )) as [Buffer | null, Array<[number, Buffer, number, Buffer[]]>, Array<[Buffer, Buffer]>];
      if (due !== null) next = Number(due.toString());
      for (const [index, id, count, fields] of claimed) {
        this.#deliver(index === 1 ? 0 : 1, id.toString(), Number(count), fields);
      }
      if (limit > claimed.length) {
        for (const [index, id, count, fields] of await this.#liveness.takeOverDead(
          holders,
          limit - claimed.length,
        )) {
          this.#deliver(index === 1 ? 0 : 1, id.toString(), Number(count), fields);
        }
      }
    } catch (error) {
      if (!this.#closed) this.#host.onError(error);
      next = Date.now() + this.#host.upkeepInterval;
    }
    if (Number.isFinite(next)) this.#schedule(next);
  }

  #deliver(index: 0 | 1, id: string, count: number, fields: Buffer[] | null): void {
    const heldKey = `${index}:${id}`;
    if (fields === null) return; // deleted by the stream's retention before it could be delivered
    if (this.#stopped) return; // read after stop: close releases it to the group
    let decoded: DecodedEntry;
    try {
      decoded = decodeFields(fields);
    } catch (error) {
      this.#settlement
        .quarantine({ index, id, count }, fields, error)
        .catch((e: unknown) => this.#host.onError(e));
      return;
    }
    const held: Held = { count };
    this.#held.set(heldKey, held);
    let settled = false;
    const settle = async (work: () => Promise<unknown>): Promise<void> => {
      if (settled) return;
      settled = true;
      try {
        await work();
      } finally {
        if (this.#held.get(heldKey) === held) this.#held.delete(heldKey);
        this.#wake?.();
      }
    };
    const { message, priorAttempts } = decoded;
    const entry: EntryRef = { index, id, count };
    const attempts = priorAttempts + count;
    const delivery: Delivery = {
      message,
      attempt: attempts,
      ack: () => settle(() => this.#settlement.ack(entry)),
      nack: (delay) =>
        settle(async () => {
          const now = Date.now();
          await this.#settlement.nack(entry, { message, attempts, delay, now });
          if (delay > 0) this.#schedule(now + delay);
        }),
      deadLetter: (error: WireError) =>
        settle(() => this.#settlement.deadLetter(entry, { message, error, attempts })),
      touch: () => {
        if (!settled) this.#settlement.touch(entry);
      },
    };
    this.#onDelivery(delivery);
  }
}
