/**
 * Dead letters on JetStream. A dead letter is a message in the `<stream>_DLQ`
 * stream on the subject `<prefix>_dlq.<group token>`: the original payload
 * and envelope, plus `Courier-Dead-Group`, `Courier-Dead-Pattern`,
 * `Courier-Dead-Error` (the error in wire form, as JSON),
 * `Courier-Dead-Attempts` and `Courier-Dead-Time`. Listing reads the group's
 * subject; purging deletes messages of it.
 *
 * A replay must reach one group only, but every group on a pattern reads
 * the same events. So a replay never goes back into the events stream: it
 * is published to `<prefix>_replay.<consumer name>` in the work-queue stream
 * `<stream>_REPLAY`, which only that group's replay consumer reads, and is
 * deleted from the dead letters once the stream holds it. Attempts count
 * afresh because the replay consumer has never delivered it.
 */
import {
  CourierError,
  type DeadLetter,
  type DeadLetterHeaderNames,
  type DeadLetterStore,
  deadLetterFromHeaders,
  deadLetterHeaders,
  type RawMessage,
  type WireError,
} from '@courier/core';
import type { JsMsg } from '@nats-io/jetstream';
import { consumerInfo } from './consumers.js';
import type { NatsContext } from './context.js';
import { decodeEnvelope, envelopeWriter, HeaderReader } from './envelope.js';
import { fromNatsError } from './errors.js';
import { consumerName, groupToken } from './names.js';
import { publishToStream } from './publisher.js';
import { readSubject } from './stream-reader.js';

/** Header names of the dead-letter fields, written and read by `deadLetterHeaders` of `@courier/core`. */
export const DeadLetterHeader = {
  group: 'Courier-Dead-Group',
  pattern: 'Courier-Dead-Pattern',
  error: 'Courier-Dead-Error',
  attempts: 'Courier-Dead-Attempts',
  time: 'Courier-Dead-Time',
} as const satisfies DeadLetterHeaderNames;

/** Where a failed message came from. */
export interface DeadLetterSource {
  stream: string;
  consumer: string;
  streamSeq: number;
}

/** Writes a message to its group's dead letters and waits until the stream holds it. */
export async function writeDeadLetter(
  ctx: NatsContext,
  entry: { message: RawMessage; group: string; pattern: string; error: WireError; attempts: number },
  source: DeadLetterSource,
): Promise<void> {
  // One dead letter per stored message and consumer: a crash between writing it and acking the
  // original makes the retry a duplicate, which the dead-letter stream drops.
  const msgId = `dl:${source.stream}:${source.consumer}:${source.streamSeq}`;
  const writer = envelopeWriter(entry.message, { natsId: msgId, withSubject: true });
  for (const [name, value] of Object.entries(
    deadLetterHeaders({ ...entry, time: Date.now() }, DeadLetterHeader),
  ))
    writer.set(name, value);
  await publishToStream(
    ctx,
    {
      subject: `${ctx.space.deadLetters}.${groupToken(entry.group)}`,
      payload: entry.message.payload,
      headers: writer.finish(),
      msgId,
      label: `the dead letters of ${entry.group}`,
    },
    ctx.serverMaxPayload,
  );
}

interface Stored {
  seq: number;
  entry: DeadLetter;
}

function decodeDeadLetter(msg: JsMsg): Stored {
  const reader = new HeaderReader(msg.headers);
  const storedAt = Number(msg.timestampNanos / 1_000_000n);
  const message = decodeEnvelope(msg.headers, msg.data, { fallbackId: `dlq:${msg.seq}`, storedAt });
  return {
    seq: msg.seq,
    entry: {
      message,
      ...deadLetterFromHeaders((name) => reader.get(name), DeadLetterHeader, {
        group: '',
        pattern: message.subject,
        time: storedAt,
      }),
    },
  };
}

/** The dead letters of every group of a deployment. */
export class NatsDeadLetterStore implements DeadLetterStore {
  readonly #ctx: NatsContext;

  constructor(ctx: NatsContext) {
    this.#ctx = ctx;
  }

  async #read(group: string, limit?: number): Promise<Stored[]> {
    if (this.#ctx.closed()) throw new CourierError('CONNECTION_CLOSED', 'the nats transport is closed');
    const subject = `${this.#ctx.space.deadLetters}.${groupToken(group)}`;
    const msgs = await readSubject(this.#ctx, this.#ctx.streams.deadLetters, subject, limit);
    // The token is a hash of the name: check the name itself, should two names ever share one.
    return msgs.map(decodeDeadLetter).filter((stored) => stored.entry.group === group);
  }

  #select(stored: Stored[], ids: readonly string[] | undefined): Stored[] {
    if (ids === undefined) return stored;
    const wanted = new Set(ids);
    return stored.filter((s) => wanted.has(s.entry.message.id));
  }

  async list(group: string, options: { limit?: number } = {}): Promise<DeadLetter[]> {
    return (await this.#read(group, options.limit)).map((s) => s.entry);
  }

  async replay(group: string, ids?: readonly string[]): Promise<number> {
    const ctx = this.#ctx;
    const present = new Map<string, boolean>();
    let replayed = 0;
    for (const { seq, entry } of this.#select(await this.#read(group), ids)) {
      const name = consumerName(entry.group, entry.pattern);
      let exists = present.get(name);
      if (exists === undefined) {
        exists = (await consumerInfo(ctx, ctx.streams.replays, name)) !== undefined;
        present.set(name, exists);
      }
      // A private subscription that is gone cannot take it back: keep the dead letter.
      if (!exists) continue;
      const msgId = `replay:${ctx.streams.deadLetters}:${seq}`;
      const writer = envelopeWriter(entry.message, { natsId: msgId, withSubject: true });
      await publishToStream(
        ctx,
        {
          subject: `${ctx.space.replays}.${name}`,
          payload: entry.message.payload,
          headers: writer.finish(),
          msgId,
          label: `the replay of ${entry.message.id} to ${group}`,
        },
        ctx.serverMaxPayload,
      );
      await this.#delete(seq);
      replayed++;
    }
    return replayed;
  }

  async purge(group: string, ids?: readonly string[]): Promise<number> {
    let purged = 0;
    for (const { seq } of this.#select(await this.#read(group), ids)) {
      if (await this.#delete(seq)) purged++;
    }
    return purged;
  }

  async #delete(seq: number): Promise<boolean> {
    try {
      return await this.#ctx.jsm.streams.deleteMessage(this.#ctx.streams.deadLetters, seq, false);
    } catch (error) {
      // Already gone (purged or replayed by another process): not ours to count.
      if (/no message found/i.test(String(error))) return false;
      throw fromNatsError(error, `deleting dead letter ${seq}`);
    }
  }
}
