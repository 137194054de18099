/**
 * Publishing to JetStream until the PubAck says the stream holds the
 * message. A publish whose PubAck does not come (connection lost, server
 * restarting, JetStream electing a leader) is sent again with the same
 * `Nats-Msg-Id`, so the stream's duplicate window stores it once however
 * many times it was sent; it gives up after `publishTimeout`.
 */
import { CourierError, formatBytes } from '@courier/core';
import type { PubAck } from '@nats-io/jetstream';
import { InvalidArgumentError, type MsgHdrs } from '@nats-io/nats-core';
import { type NatsContext, sleep } from './context.js';
import { headersSize } from './envelope.js';
import { fromNatsError, isTransient } from './errors.js';

const RESEND: unique symbol = Symbol('resend');

/** One message for a stream. */
export interface StreamPublish {
  /** The NATS subject. */
  subject: string;
  payload: Uint8Array;
  headers: MsgHdrs;
  /** The dedup key, already in `headers` as `Nats-Msg-Id` (a retry resends it unchanged). */
  msgId: string;
  /** For messages: what the application called the subject. */
  label: string;
}

/** Maps the client's max_payload refusal to Courier's error, with the real limit. */
export function payloadTooLarge(ctx: NatsContext, label: string, size: number, limit: number): CourierError {
  return new CourierError(
    'PAYLOAD_TOO_LARGE',
    `message of ${formatBytes(size)} (headers included) exceeds the nats engine's max payload of ${formatBytes(ctx.serverMaxPayload)} for subject ${label}; raise max_payload in the nats-server configuration or send a reference (a URL or storage key) instead of the data`,
    { data: { size, limit, subject: label } },
  );
}

/**
 * Publishes and waits for the PubAck, retrying transient failures with the
 * same message id. A duplicate PubAck (already stored) counts as success.
 * @param limit the limit to report in a `PAYLOAD_TOO_LARGE` (the declared max payload).
 */
export async function publishToStream(
  ctx: NatsContext,
  message: StreamPublish,
  limit: number,
): Promise<PubAck> {
  const what = `publish to ${message.label}`;
  const deadline = Date.now() + ctx.options.publishTimeout;
  let pause = 50;
  for (;;) {
    if (ctx.closed())
      throw new CourierError('CONNECTION_CLOSED', `${what} failed: the nats transport is closed`);
    const left = deadline - Date.now();
    // A PubAck sent into a connection that died is lost: on reconnect, send again at once (same id)
    // rather than wait for the request's timeout.
    let stopListening = (): void => undefined;
    const reconnect = new Promise<typeof RESEND>((resolve) => {
      stopListening = ctx.onReconnect(() => resolve(RESEND));
    });
    try {
      const sent = ctx.js.publish(message.subject, message.payload, {
        headers: message.headers,
        timeout: Math.max(1, Math.min(ctx.options.apiTimeout, left)),
      });
      const first = await Promise.race([sent, reconnect]);
      if (typeof first !== 'symbol') return first;
      sent.catch(() => undefined);
    } catch (error) {
      if (error instanceof InvalidArgumentError && /max_payload/.test(error.message)) {
        throw payloadTooLarge(
          ctx,
          message.label,
          message.payload.byteLength + headersSize(message.headers),
          limit,
        );
      }
      if (!isTransient(error) || Date.now() + pause >= deadline || ctx.closed())
        throw publishError(ctx, error, message, what);
      await sleep(pause);
      pause = Math.min(pause * 2, 1000);
    } finally {
      stopListening();
    }
  }
}

function publishError(ctx: NatsContext, error: unknown, message: StreamPublish, what: string): CourierError {
  if (isTransient(error)) {
    return new CourierError(
      'TIMEOUT',
      `${what} got no PubAck within ${ctx.options.publishTimeout} ms: the server may be unreachable, or no JetStream stream captures ${message.subject}; check that the server runs with JetStream and that the stream ${ctx.streams.events} exists and captures ${ctx.space.events}.>`,
      { cause: error, data: { subject: message.label } },
    );
  }
  return fromNatsError(error, what);
}
