/**
 * Reads the messages of one subject of a stream, oldest first, through a
 * short-lived ephemeral consumer (no acks, in memory, removed afterwards
 * and by the server if this process dies midway).
 */

import { bounded } from '@courier/core/internal';
import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { deleteConsumer } from './consumers.js';
import type { NatsContext } from './context.js';
import { fromNatsError } from './errors.js';

/**
 * Up to `limit` messages of `subject` in `stream`, as they are now.
 */
export async function readSubject(
  ctx: NatsContext,
  stream: string,
  subject: string,
  limit = Number.POSITIVE_INFINITY,
): Promise<JsMsg[]> {
  let info: Awaited<ReturnType<typeof ctx.jsm.consumers.add>>;
  try {
    info = await ctx.jsm.consumers.add(stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      filter_subject: subject,
      mem_storage: true,
      inactive_threshold: nanos(30_000),
    });
  } catch (error) {
    throw fromNatsError(error, `reading ${subject} from ${stream}`);
  }
  const wanted = Math.min(limit, info.num_pending);
  const read: JsMsg[] = [];
  try {
    const consumer = await ctx.js.consumers.get(stream, info.name);
    while (read.length < wanted) {
      const before = read.length;
      const batch = await consumer.fetch({
        max_messages: Math.min(wanted - read.length, 500),
        expires: 2000,
      });
      for await (const msg of batch) read.push(msg);
      if (read.length === before) break; // the messages went (purged) while reading
    }
  } catch (error) {
    throw fromNatsError(error, `reading ${subject} from ${stream}`);
  } finally {
    await bounded(deleteConsumer(ctx, stream, info.name), 2000, undefined);
  }
  return read;
}
