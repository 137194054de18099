/**
 * STOMP 1.2 framing: encoding frames to bytes and an incremental parser that
 * turns a byte stream back into frames. Bodies are bytes (never decoded) and
 * always carry `content-length`, so binary payloads with NUL bytes survive;
 * header values are escaped as STOMP 1.2 says (`\\`, `\n`, `\r`, `\c`). The
 * parser checks every size before it buffers, so a broken or hostile peer
 * gets a `PROTOCOL_ERROR`, never unbounded memory.
 */
import { CourierError } from '@courier/core';

/** One STOMP frame. Header names are kept as sent; the first of a repeated header wins (STOMP 1.2). */
export interface StompFrame {
  command: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const NUL = 0;
const LF = 10;
const CR = 13;

function escapeHeader(value: string): string {
  return value.replace(/[\\\n\r:]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\c',
  );
}

function unescapeHeader(value: string): string {
  if (!value.includes('\\')) return value;
  return value.replace(/\\(.)/g, (_m, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === 'r') return '\r';
    if (c === 'c') return ':';
    throw new CourierError('PROTOCOL_ERROR', `invalid escape \\${c} in a STOMP header value`);
  });
}

/**
 * The bytes of a frame. CONNECT frames are not escaped (STOMP 1.2 says so);
 * every frame with a body gets its `content-length`.
 */
export function encodeFrame(frame: {
  command: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}): Buffer {
  const body = frame.body ?? EMPTY;
  const raw = frame.command === 'CONNECT' || frame.command === 'STOMP';
  let head = `${frame.command}\n`;
  for (const [name, value] of Object.entries(frame.headers ?? {})) {
    head += raw ? `${name}:${value}\n` : `${escapeHeader(name)}:${escapeHeader(value)}\n`;
  }
  if (body.byteLength > 0 || frame.command === 'SEND') head += `content-length:${body.byteLength}\n`;
  head += '\n';
  const headBytes = Buffer.from(head, 'utf8');
  const out = Buffer.allocUnsafe(headBytes.byteLength + body.byteLength + 1);
  headBytes.copy(out, 0);
  out.set(body, headBytes.byteLength);
  out[out.byteLength - 1] = NUL;
  return out;
}

/** Limits for {@link FrameParser}. */
export interface FrameParserOptions {
  /** The largest body accepted, in bytes. */
  maxBody: number;
  /** The largest header block accepted, in bytes. Default 64 KiB. */
  maxHeaders?: number;
}

/**
 * An incremental parser: `push` bytes as they arrive and get the frames they
 * complete. Heart-beat end-of-lines between frames are skipped.
 */
export class FrameParser {
  readonly #maxBody: number;
  readonly #maxHeaders: number;
  #buffer: Buffer = Buffer.alloc(0);

  constructor(options: FrameParserOptions) {
    this.#maxBody = options.maxBody;
    this.#maxHeaders = options.maxHeaders ?? 64 * 1024;
  }

  /**
   * Adds bytes and returns the frames they complete.
   * @throws CourierError `PROTOCOL_ERROR` for a malformed or oversized frame.
   */
  push(chunk: Uint8Array): StompFrame[] {
    this.#buffer = this.#buffer.byteLength === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    const frames: StompFrame[] = [];
    for (;;) {
      const frame = this.#next();
      if (!frame) break;
      frames.push(frame);
    }
    return frames;
  }

  #next(): StompFrame | undefined {
    let start = 0;
    const buffer = this.#buffer;
    while (start < buffer.byteLength && (buffer[start] === LF || buffer[start] === CR)) start++;
    if (start > 0) {
      this.#buffer = buffer.subarray(start);
      return this.#next();
    }
    const end = headerEnd(buffer, this.#maxHeaders);
    if (end === undefined) return undefined;
    const lines = buffer.toString('utf8', 0, end.at).split('\n');
    const command = (lines.shift() ?? '').replace(/\r$/, '');
    if (!/^[A-Z]+$/.test(command)) {
      throw new CourierError(
        'PROTOCOL_ERROR',
        `malformed STOMP frame: command ${JSON.stringify(command.slice(0, 40))}`,
      );
    }
    // No prototype: a header named __proto__ or constructor is just a header.
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    const raw = command === 'CONNECTED';
    for (const line of lines) {
      const text = line.replace(/\r$/, '');
      if (text === '') continue;
      const colon = text.indexOf(':');
      if (colon <= 0)
        throw new CourierError(
          'PROTOCOL_ERROR',
          `malformed STOMP header line ${JSON.stringify(text.slice(0, 80))}`,
        );
      const name = raw ? text.slice(0, colon) : unescapeHeader(text.slice(0, colon));
      if (Object.hasOwn(headers, name)) continue;
      headers[name] = raw ? text.slice(colon + 1) : unescapeHeader(text.slice(colon + 1));
    }
    const bodyStart = end.at + end.length;
    const declared = headers['content-length'];
    let bodyEnd: number;
    if (declared !== undefined) {
      const length = Number(declared);
      if (!Number.isSafeInteger(length) || length < 0) {
        throw new CourierError(
          'PROTOCOL_ERROR',
          `malformed STOMP content-length ${JSON.stringify(declared)}`,
        );
      }
      if (length > this.#maxBody) {
        throw new CourierError(
          'PROTOCOL_ERROR',
          `STOMP frame body of ${length} bytes exceeds the limit of ${this.#maxBody} bytes`,
        );
      }
      if (buffer.byteLength < bodyStart + length + 1) return undefined;
      if (buffer[bodyStart + length] !== NUL) {
        throw new CourierError('PROTOCOL_ERROR', 'STOMP frame body is not followed by NUL');
      }
      bodyEnd = bodyStart + length;
    } else {
      const nul = buffer.indexOf(NUL, bodyStart);
      if (nul < 0) {
        if (buffer.byteLength - bodyStart > this.#maxBody) {
          throw new CourierError(
            'PROTOCOL_ERROR',
            `STOMP frame body exceeds the limit of ${this.#maxBody} bytes`,
          );
        }
        return undefined;
      }
      bodyEnd = nul;
    }
    // Copy the body out so that the frame does not pin the whole read buffer.
    const body = bodyEnd > bodyStart ? new Uint8Array(buffer.subarray(bodyStart, bodyEnd)) : EMPTY;
    this.#buffer = buffer.subarray(bodyEnd + 1);
    return { command, headers, body };
  }
}

/** Where the header block ends (the blank line), or undefined when it has not all arrived. */
function headerEnd(buffer: Buffer, max: number): { at: number; length: number } | undefined {
  let from = 0;
  for (;;) {
    const lf = buffer.indexOf(LF, from);
    if (lf < 0 || lf > max) {
      if ((lf < 0 ? buffer.byteLength : lf) > max) {
        throw new CourierError('PROTOCOL_ERROR', `STOMP frame headers exceed the limit of ${max} bytes`);
      }
      return undefined;
    }
    if (buffer[lf + 1] === LF) return { at: lf, length: 2 };
    if (buffer[lf + 1] === CR && buffer[lf + 2] === LF) return { at: lf, length: 3 };
    if (lf + 1 >= buffer.byteLength || (buffer[lf + 1] === CR && lf + 2 >= buffer.byteLength))
      return undefined;
    from = lf + 1;
  }
}
