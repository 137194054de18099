/**
 * Liveness is the connection's: Redis does not tie a consumer's pending
 * entries to its connection, so each member records the client id of its
 * reading connection beside its ackWait, and members that hold entries are
 * looked up with `CLIENT LIST ID`. One whose connection has been gone for
 * three upkeep intervals (longer than a reconnect takes) is dead, and what it
 * holds is taken over at once instead of after its ackWait. Where ACLs refuse
 * `CLIENT LIST`, this switches itself off and the ackWait decides alone.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { claimDeadScript } from './scripts.js';

/** An entry taken over: stream index (1 main, 2 private), id, delivery count, fields. */
export type ClaimedEntry = [number, Buffer, number, Buffer[]];

/** The member this watches for, and where. */
export interface LivenessOptions {
  readonly redis: Redis;
  readonly keys: Keys;
  readonly upkeepInterval: number;
  /** The (group, pattern) name in keys. */
  readonly gid: string;
  readonly group: string;
  /** The group's main stream key. */
  readonly main: string;
  /** This member's consumer name. */
  readonly name: string;
  /** The name of its reading connection, as `CLIENT LIST` shows it. */
  readonly readerName: string;
  readonly ackWait: number;
}

const CLIENT_ID = /(?:^| )id=(\d+)/;

/** One member's view of the other members' connections. */
export class MemberLiveness {
  readonly #options: LivenessOptions;
  /** Members whose connection was missing, with when it was first seen missing. */
  #suspects = new Map<string, number>();
  #enabled = true;

  constructor(options: LivenessOptions) {
    this.#options = options;
  }

  /** Records this member's reading connection; call after every (re)connect. */
  async register(): Promise<void> {
    if (!this.#enabled) return;
    const { redis, keys, gid, name, readerName, ackWait } = this.#options;
    try {
      const list = String(await redis.client('LIST', 'TYPE', 'NORMAL'));
      const line = list.split('\n').find((l) => l.includes(` name=${readerName} `));
      const id = line === undefined ? undefined : CLIENT_ID.exec(line)?.[1];
      if (id === undefined) return;
      await redis.hset(`${keys.root}:c:${gid}`, name, `${ackWait} ${id}`);
    } catch {
      this.#enabled = false;
    }
  }

  /**
   * Takes over (up to `limit` entries) what the dead among `holders` (member
   * name, client id) still hold.
   */
  async takeOverDead(holders: ReadonlyArray<[Buffer, Buffer]>, limit: number): Promise<ClaimedEntry[]> {
    if (!this.#enabled || holders.length === 0) return [];
    const { redis, keys, gid, group, main, name: me, upkeepInterval } = this.#options;
    let alive: Set<string>;
    try {
      const list = String(await redis.client('LIST', 'ID', ...holders.map(([, id]) => id.toString())));
      alive = new Set(list.split('\n').map((l) => CLIENT_ID.exec(l)?.[1] ?? ''));
    } catch {
      this.#enabled = false;
      return [];
    }
    const now = Date.now();
    const suspects = new Map<string, number>();
    const taken: ClaimedEntry[] = [];
    for (const [holder, id] of holders) {
      const name = holder.toString();
      if (alive.has(id.toString())) continue;
      const since = this.#suspects.get(name) ?? now;
      suspects.set(name, since);
      if (now - since < 3 * upkeepInterval || limit - taken.length <= 0) continue;
      const claimed = (await claimDeadScript.run(
        redis,
        [keys.root, gid, group, main, me, name, limit - taken.length],
        true,
      )) as ClaimedEntry[];
      taken.push(...claimed);
    }
    this.#suspects = suspects;
    return taken;
  }
}
