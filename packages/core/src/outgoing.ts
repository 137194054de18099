/**
 * Outgoing messages: data encoded with the chosen codec (bytes always raw),
 * headers, id, key and delivery time checked, the envelope filled in.
 */

import type { PublishOptions } from './bus-options.js';
import { type Codec, type CodecName, type Codecs, rawCodec } from './codec.js';
import { optionalMillis } from './duration.js';
import { CourierError } from './errors.js';
import { newId } from './id.js';
import type { Headers, RawMessage } from './message.js';

/** How a Bus encodes: its codecs, its default codec, and who it is. */
export interface Outgoing {
  readonly codecs: Codecs;
  readonly codec: Codec;
  readonly source: string;
}

/** What may be set on an outgoing message: the options of `publish`. */
type OutgoingOptions = PublishOptions;

/** Encodes data: with `codec` when given, raw for bytes, else with the default codec. */
export function encodeData(
  out: Outgoing,
  data: unknown,
  codec: CodecName | Codec | undefined,
): { payload: Uint8Array; contentType: string } {
  const chosen =
    codec !== undefined
      ? out.codecs.resolve(codec)
      : data instanceof Uint8Array || data instanceof ArrayBuffer
        ? rawCodec
        : out.codec;
  return { payload: chosen.encode(data), contentType: chosen.contentType };
}

function deliverAtOf(options: OutgoingOptions): number | undefined {
  if (options.delay !== undefined && options.at !== undefined) {
    throw new CourierError('INVALID_OPTION', 'give delay or at, not both');
  }
  if (options.delay !== undefined) return Date.now() + optionalMillis(options.delay, 'delay', 0);
  if (options.at === undefined) return undefined;
  const at = options.at instanceof Date ? options.at.getTime() : options.at;
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new CourierError(
      'INVALID_OPTION',
      `at must be a Date or milliseconds since the epoch, got ${String(options.at)}`,
    );
  }
  return at;
}

/**
 * Builds the message to send.
 * @throws CourierError `INVALID_OPTION` for a non-string header, an empty id or key, a bad delivery time.
 */
export function outgoingMessage(
  out: Outgoing,
  subject: string,
  data: unknown,
  options: OutgoingOptions,
): RawMessage {
  const given = options.headers;
  let headers: Headers = {};
  if (given !== undefined) {
    for (const [name, value] of Object.entries(given)) {
      if (typeof value !== 'string') {
        throw new CourierError('INVALID_OPTION', `header ${name} must be a string, got ${typeof value}`);
      }
    }
    headers = { ...given };
  }
  const id = options.id ?? newId();
  if (typeof id !== 'string' || id === '') {
    throw new CourierError('INVALID_OPTION', `id must be a non-empty string, got ${JSON.stringify(id)}`);
  }
  const { payload, contentType } = encodeData(out, data, options.codec);
  const message: RawMessage = {
    id,
    subject,
    payload,
    contentType,
    headers,
    time: Date.now(),
    source: out.source,
  };
  if (options.key !== undefined) {
    if (typeof options.key !== 'string' || options.key === '') {
      throw new CourierError(
        'INVALID_OPTION',
        `key must be a non-empty string, got ${JSON.stringify(options.key)}`,
      );
    }
    message.key = options.key;
  }
  const deliverAt =
    options.delay === undefined && options.at === undefined ? undefined : deliverAtOf(options);
  if (deliverAt !== undefined) message.deliverAt = deliverAt;
  return message;
}
