/**
 * Pages of a group's dead letters for DEAD_LETTERS_RESULT: each page holds
 * as many entries as fit in one frame (and at most what was asked), and a
 * cursor to the next page, so a long dead-letter list never makes a frame
 * larger than the connection's `maxFrame`. The cursor is the position in the
 * group's list, oldest first; a replay or purge between pages shifts it.
 */
import {
  CourierError,
  type DeadLetter,
  type DeadLetterStore,
  formatBytes,
  toCourierError,
} from '@courier/core';
import { DeadLetterOp, type Frame, FrameType } from '../protocol/frame-types.js';
import { deadLetterWireSize } from '../protocol/structures.js';
import type { Permissions } from './permissions.js';

/** Entries per page at most, whatever their size. */
const PAGE_ENTRIES = 1000;
/** What a DEAD_LETTERS_RESULT frame takes besides its entries: length, type, op, count, next, n. */
const FRAME_OVERHEAD = 4 + 1 + 4 + 4 + 4 + 4;

/** One page: its entries and the cursor of the next, 0 when this is the last. */
export interface DeadLetterPage {
  entries: DeadLetter[];
  next: number;
}

/**
 * Reads the page of `group` starting at `cursor`.
 * @throws CourierError `PAYLOAD_TOO_LARGE` when one dead letter alone is larger than a frame.
 */
export async function deadLetterPage(
  store: DeadLetterStore,
  options: { group: string; cursor: number; limit: number; maxFrame: number },
): Promise<DeadLetterPage> {
  const want = options.limit > 0 ? Math.min(options.limit, PAGE_ENTRIES) : PAGE_ENTRIES;
  // One more than wanted tells whether another page follows.
  const listed = await store.list(options.group, { limit: options.cursor + want + 1 });
  const candidates = listed.slice(options.cursor);
  const budget = options.maxFrame - FRAME_OVERHEAD;
  const entries: DeadLetter[] = [];
  let bytes = 0;
  for (const entry of candidates) {
    if (entries.length === want) break;
    const size = deadLetterWireSize(entry);
    if (bytes + size > budget) {
      if (entries.length > 0) break;
      throw new CourierError(
        'PAYLOAD_TOO_LARGE',
        `dead letter ${entry.message.id} of ${options.group} takes ${formatBytes(size)}, more than the broker's frame limit of ${formatBytes(options.maxFrame)}; raise the broker's maxFrame to read it, or purge it`,
        { data: { id: entry.message.id } },
      );
    }
    bytes += size;
    entries.push(entry);
  }
  const more = candidates.length > entries.length;
  return { entries, next: more ? options.cursor + entries.length : 0 };
}

/**
 * The answer to a DEAD_LETTERS frame: DEAD_LETTERS_RESULT, or ERROR with its
 * `op`. Dead letters hold any group's messages, so only a token with every
 * right may read or move them (`UNAUTHORIZED` otherwise).
 */
export async function deadLetterAnswer(
  frame: Extract<Frame, { type: typeof FrameType.DEAD_LETTERS }>,
  options: { permissions: Permissions | undefined; store: DeadLetterStore; maxFrame: number },
): Promise<Frame> {
  const { op, group } = frame;
  const { permissions, store } = options;
  if (!permissions?.canSubscribe('>') || !permissions.canPublish('>')) {
    const error = new CourierError(
      'UNAUTHORIZED',
      `this connection's token lacks the publish and subscribe rights for ">", which the dead letters of ${group} need (they may hold any subject's messages); use a token with every right`,
      { data: { subject: '>', right: 'publish, subscribe' } },
    );
    return { type: FrameType.ERROR, ref: op, error: error.toWire() };
  }
  try {
    if (frame.action === DeadLetterOp.LIST) {
      const page = await deadLetterPage(store, {
        group,
        cursor: frame.cursor,
        limit: frame.limit,
        maxFrame: options.maxFrame,
      });
      return { type: FrameType.DEAD_LETTERS_RESULT, op, count: page.entries.length, ...page };
    }
    const count =
      frame.action === DeadLetterOp.REPLAY
        ? await store.replay(group, frame.ids)
        : await store.purge(group, frame.ids);
    return { type: FrameType.DEAD_LETTERS_RESULT, op, count, next: 0, entries: [] };
  } catch (error) {
    return { type: FrameType.ERROR, ref: op, error: toCourierError(error).toWire() };
  }
}
