/**
 * When appended bytes are forced to stable storage, and what each choice
 * risks. `sync` (the default) resolves an append only after `fdatasync`;
 * `{ interval: ms }` resolves after the write reaches the OS and syncs every
 * `ms`, so a power loss or kernel crash can lose up to `ms` of acknowledged
 * records; `none` never syncs while running (only on segment roll and
 * close) and leaves durability to the OS's writeback, typically up to 30 s
 * of acknowledged records on power loss. A process crash (`kill -9`) loses
 * nothing acknowledged under any policy, because written bytes live in the
 * OS page cache.
 */
import { CourierError } from '@courier/core';

/** See the module comment for what each policy risks. */
export type SyncPolicy = 'sync' | 'none' | { interval: number };

/** The normalised form of a {@link SyncPolicy}. */
export type SyncMode = { mode: 'sync' } | { mode: 'none' } | { mode: 'interval'; intervalMs: number };

/** Validates and normalises a policy; throws `INVALID_OPTION` for anything else. */
export function syncMode(policy: SyncPolicy | undefined): SyncMode {
  if (policy === undefined || policy === 'sync') return { mode: 'sync' };
  if (policy === 'none') return { mode: 'none' };
  if (typeof policy === 'object' && policy !== null) {
    const ms = policy.interval;
    if (Number.isFinite(ms) && ms > 0) return { mode: 'interval', intervalMs: ms };
  }
  throw new CourierError(
    'INVALID_OPTION',
    `sync policy ${JSON.stringify(policy)} is not one of 'sync', 'none' or { interval: <positive ms> }; ` +
      "use 'sync' unless you accept losing acknowledged records on power loss",
  );
}
