/**
 * Request-reply on core NATS: a request is a NATS request on the subject
 * (with `requestPrefix` when set), carrying the envelope in headers;
 * responders are a queue group, so each request reaches exactly one of
 * them. NATS answers at once with "no responders" when nobody subscribes,
 * which becomes `NO_RESPONDERS`. NATS picks a random member of the queue
 * group (preferring its own cluster), not the one with the fewest
 * outstanding requests.
 *
 * Replies carry `Courier-Content-Type` and application headers; an error
 * reply carries `Courier-Reply: error` and the error in wire form as a
 * JSON payload. A reply without Courier headers (a plain NATS service)
 * is a successful reply of `Content-Type` or `application/octet-stream`.
 */
import {
  assertSize,
  CourierError,
  type RawMessage,
  type Reply,
  type Responder,
  toCourierError,
  type WireError,
} from '@courier/core';
import { bounded } from '@courier/core/internal';
import { InvalidArgumentError, type Msg, RequestError, TimeoutError } from '@nats-io/nats-core';
import type { NatsContext } from './context.js';
import {
  decodeEnvelope,
  EnvelopeHeader,
  encodeEnvelope,
  HeaderReader,
  HeaderWriter,
  headersSize,
} from './envelope.js';
import { fromNatsError } from './errors.js';
import { payloadTooLarge } from './publisher.js';

const REPLY_HEADER = 'Courier-Reply';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The NATS subject of a request subject or pattern. */
export function requestSubject(ctx: NatsContext, subject: string): string {
  const prefix = ctx.options.requestPrefix;
  if (prefix !== '') return `${prefix}.${subject}`;
  for (const space of [ctx.space.events, ctx.space.deadLetters, ctx.space.replays]) {
    if (subject === space || subject.startsWith(`${space}.`)) {
      throw new CourierError(
        'INVALID_SUBJECT',
        `request subject ${subject} lies under ${space}.>, which a JetStream stream of this deployment captures, so a request there would be stored instead of answered; use another subject, or set the nats transport's requestPrefix`,
        { data: { subject } },
      );
    }
  }
  return subject;
}

function decodeReply(msg: Msg): Reply {
  const reader = new HeaderReader(msg.headers);
  if (reader.get(REPLY_HEADER) === 'error') {
    try {
      return { ok: false, error: CourierError.fromWire(JSON.parse(decoder.decode(msg.data))).toWire() };
    } catch {
      return {
        ok: false,
        error: { code: 'PROTOCOL_ERROR', message: 'unreadable error reply', retryable: false },
      };
    }
  }
  const contentType =
    reader.get(EnvelopeHeader.contentType) ?? reader.get('Content-Type') ?? 'application/octet-stream';
  return { ok: true, payload: msg.data, contentType, headers: reader.application() };
}

/** Sends a request and waits for one reply. */
export async function sendRequest(
  ctx: NatsContext,
  message: RawMessage,
  timeout: number,
  maxPayload: number,
): Promise<Reply> {
  if (ctx.closed())
    throw new CourierError(
      'CONNECTION_CLOSED',
      `request to ${message.subject} failed: the nats transport is closed`,
    );
  assertSize(message, maxPayload, 'nats');
  const subject = requestSubject(ctx, message.subject);
  const headers = encodeEnvelope(message);
  let reply: Msg;
  try {
    reply = await ctx.nc.request(subject, message.payload, { timeout, headers });
  } catch (error) {
    if (error instanceof InvalidArgumentError && /max_payload/.test(error.message))
      throw payloadTooLarge(
        ctx,
        message.subject,
        message.payload.byteLength + headersSize(headers),
        maxPayload,
      );
    if (error instanceof RequestError && error.isNoResponders())
      throw new CourierError(
        'NO_RESPONDERS',
        `no handler is registered for ${message.subject}; start a service that handles it`,
        {
          data: { subject: message.subject },
          cause: error,
        },
      );
    if (
      error instanceof TimeoutError ||
      (error instanceof RequestError && error.cause instanceof TimeoutError)
    )
      throw new CourierError(
        'TIMEOUT',
        `no reply on ${message.subject} within ${timeout} ms; the handler may still be running`,
        {
          data: { subject: message.subject, timeout },
          cause: error,
        },
      );
    throw fromNatsError(error, `request to ${message.subject}`);
  }
  return decodeReply(reply);
}

function errorReply(error: WireError): { payload: Uint8Array; headers: HeaderWriter } {
  const headers = new HeaderWriter();
  headers.set(REPLY_HEADER, 'error');
  return { payload: encoder.encode(JSON.stringify(error)), headers };
}

/** Sends a handler's reply; a reply too large for the server becomes an error reply. */
function respond(ctx: NatsContext, request: Msg, reply: Reply): void {
  let out: { payload: Uint8Array; headers: HeaderWriter };
  if (reply.ok) {
    const headers = new HeaderWriter();
    headers.set(EnvelopeHeader.contentType, reply.contentType);
    headers.setAll(reply.headers);
    out = { payload: reply.payload, headers };
  } else {
    out = errorReply(reply.error);
  }
  let headers = out.headers.finish();
  if (out.payload.byteLength + headersSize(headers) > ctx.serverMaxPayload) {
    const tooLarge = payloadTooLarge(
      ctx,
      `the reply to ${request.subject}`,
      out.payload.byteLength,
      ctx.serverMaxPayload,
    );
    out = errorReply(tooLarge.toWire());
    headers = out.headers.finish();
  }
  try {
    request.respond(out.payload, { headers });
  } catch {
    // The connection closed: the caller times out, as with any lost reply.
  }
}

/** Subscribes a responder in the deployment's queue group. */
export async function serveRequests(
  ctx: NatsContext,
  pattern: string,
  handler: (request: RawMessage) => Promise<Reply>,
): Promise<Responder> {
  if (ctx.closed())
    throw new CourierError('CONNECTION_CLOSED', `serving ${pattern} failed: the nats transport is closed`);
  const natsPattern = requestSubject(ctx, pattern);
  const prefix = ctx.options.requestPrefix === '' ? '' : `${ctx.options.requestPrefix}.`;
  const running = new Set<Promise<void>>();
  const internal = [
    `${ctx.space.events}.`,
    `${ctx.space.deadLetters}.`,
    `${ctx.space.replays}.`,
    '$',
    '_INBOX.',
  ];
  const sub = ctx.nc.subscribe(natsPattern, {
    queue: ctx.options.queue,
    callback: (error, msg) => {
      // Only requests: not plain publishes, not JetStream's or inboxes' traffic that a wide pattern also matches.
      if (error || !msg.reply || internal.some((p) => msg.subject.startsWith(p))) return;
      const request = decodeEnvelope(msg.headers, msg.data, {
        subject: msg.subject.slice(prefix.length),
        fallbackId: `request:${Date.now()}:${Math.random().toString(36).slice(2)}`,
        storedAt: Date.now(),
      });
      const run = Promise.resolve()
        .then(() => handler(request))
        .catch(
          (thrown: unknown): Reply => ({
            ok: false,
            error: toCourierError(thrown, 'HANDLER_ERROR').toWire(),
          }),
        )
        .then((reply) => respond(ctx, msg, reply))
        // A reply that cannot be sent (a malformed one from a buggy handler) is lost, never thrown.
        .catch(() => undefined);
      running.add(run);
      void run.finally(() => running.delete(run));
    },
  });
  // Once the server has the subscription, requests reach it. While the connection is down the
  // client sends it on reconnect: do not wait longer than an API call would.
  await bounded(ctx.nc.flush(), ctx.options.apiTimeout, undefined);
  let closing: Promise<void> | undefined;
  return {
    close: () => {
      closing ??= (async () => {
        if (!sub.isClosed()) await bounded(sub.drain(), 2000, undefined);
        if (!sub.isClosed()) sub.unsubscribe();
        while (running.size > 0) await Promise.allSettled([...running]);
      })();
      return closing;
    },
  };
}
