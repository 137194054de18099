/**
 * Codecs turn data into bytes and back. The content type travels with every
 * message, so a consumer decodes with the producer's codec whatever its own
 * default is. JSON is the default; MessagePack (`msgpackr`) and raw bytes are
 * built in, and applications can register their own.
 */
import { Packr } from 'msgpackr';
import { CourierError } from './errors.js';

/** Encodes and decodes payloads of one content type. */
export interface Codec {
  /** The MIME type written on every message this codec encodes. */
  readonly contentType: string;
  encode(data: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/** The names of the built-in codecs. */
export type CodecName = 'json' | 'msgpack' | 'raw' | 'text';

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

function failure(contentType: string, action: string, error: unknown): CourierError {
  const why = error instanceof Error ? error.message : String(error);
  return new CourierError('CODEC_ERROR', `cannot ${action} ${contentType} payload: ${why}`, { cause: error });
}

/** JSON (UTF-8). `undefined` encodes as an empty payload and decodes back to `undefined`. */
export const jsonCodec: Codec = {
  contentType: 'application/json',
  encode(data) {
    if (data === undefined) return EMPTY;
    try {
      return utf8.encode(JSON.stringify(data));
    } catch (error) {
      throw failure(this.contentType, 'encode', error);
    }
  },
  decode(bytes) {
    if (bytes.length === 0) return undefined;
    try {
      return JSON.parse(fromUtf8.decode(bytes));
    } catch (error) {
      throw failure(this.contentType, 'decode', error);
    }
  },
};

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/**
 * MessagePack via `msgpackr`, without its record extension so other languages
 * can read it. A map key named `__proto__` decodes as `__proto_` (msgpackr's
 * guard against prototype pollution); data with such keys should use JSON.
 */
export const msgpackCodec: Codec = {
  contentType: 'application/msgpack',
  encode(data) {
    if (data === undefined) return EMPTY;
    try {
      return packr.pack(data);
    } catch (error) {
      throw failure(this.contentType, 'encode', error);
    }
  },
  decode(bytes) {
    if (bytes.length === 0) return undefined;
    try {
      return packr.unpack(bytes);
    } catch (error) {
      throw failure(this.contentType, 'decode', error);
    }
  },
};

/** Raw bytes: the payload is the data. Takes a `Uint8Array` (a `Buffer` is one) or an `ArrayBuffer`. */
export const rawCodec: Codec = {
  contentType: 'application/octet-stream',
  encode(data) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    throw new CourierError(
      'CODEC_ERROR',
      `the raw codec takes a Uint8Array or ArrayBuffer, got ${data === null ? 'null' : typeof data}; use the json or msgpack codec for structured data`,
    );
  },
  decode(bytes) {
    return bytes;
  },
};

/** UTF-8 text. */
export const textCodec: Codec = {
  contentType: 'text/plain',
  encode(data) {
    if (typeof data !== 'string') {
      throw new CourierError(
        'CODEC_ERROR',
        `the text codec takes a string, got ${typeof data}; use the json codec for other data`,
      );
    }
    return utf8.encode(data);
  },
  decode(bytes) {
    try {
      return fromUtf8.decode(bytes);
    } catch (error) {
      throw failure(this.contentType, 'decode', error);
    }
  },
};

const BUILT_IN: Record<CodecName, Codec> = {
  json: jsonCodec,
  msgpack: msgpackCodec,
  raw: rawCodec,
  text: textCodec,
};

/** The media type without parameters, lower-cased: `Application/JSON; charset=utf-8` -> `application/json`. */
export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * The codecs a Bus knows, by content type. Built-ins are always present;
 * `extra` adds or replaces by content type.
 */
export class Codecs {
  readonly #byType = new Map<string, Codec>();

  constructor(extra: readonly Codec[] = []) {
    for (const codec of [...Object.values(BUILT_IN), ...extra])
      this.#byType.set(mediaType(codec.contentType), codec);
    this.#byType.set('application/x-msgpack', msgpackCodec);
  }

  /** A built-in codec by name, or the codec itself. */
  resolve(codec: CodecName | Codec): Codec {
    if (typeof codec !== 'string') return codec;
    const found = BUILT_IN[codec];
    if (!found) {
      throw new CourierError(
        'INVALID_OPTION',
        `unknown codec ${JSON.stringify(codec)}; use one of ${Object.keys(BUILT_IN).join(', ')} or pass a Codec object`,
      );
    }
    return found;
  }

  /**
   * The codec for a received content type.
   * @throws CourierError `CODEC_ERROR` when no codec is registered for it.
   */
  forContentType(contentType: string): Codec {
    // Most messages carry a content type exactly as registered: no parsing for those.
    const codec = this.#byType.get(contentType) ?? this.#byType.get(mediaType(contentType));
    if (!codec) {
      throw new CourierError(
        'CODEC_ERROR',
        `no codec for content type ${JSON.stringify(contentType)}; register one with connect(url, { codecs: [...] })`,
      );
    }
    return codec;
  }
}
