/**
 * The admin API's HTTP plumbing: JSON answers, errors as
 * `{ error: { code, message } }` with the status their code means, bounded
 * JSON bodies, and checked query parameters. Every bad input becomes a
 * `CourierError` that says what was wrong and what to send instead.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CourierError } from '@courier/core';

/** The largest request body the admin API reads. */
export const MAX_BODY_BYTES = 1024 * 1024;

const STATUS: Record<string, number> = {
  INVALID_OPTION: 400,
  INVALID_SUBJECT: 400,
  INVALID_MESSAGE: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  CONNECTION_CLOSED: 503,
};

/** Sends `body` as JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** Sends an error: a `CourierError` with its code's status, anything else as a 500 `INTERNAL`. */
export function sendError(res: ServerResponse, error: unknown): void {
  const known = error instanceof CourierError;
  const code = known ? error.code : 'INTERNAL';
  const message = known ? error.message : `the broker failed to answer: ${String(error)}`;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The rest of an oversized body is not read: the connection cannot carry another request.
  if (code === 'PAYLOAD_TOO_LARGE') res.setHeader('connection', 'close');
  sendJson(res, STATUS[code] ?? 500, { error: { code, message } });
}

/** Reads a JSON object body of at most {@link MAX_BODY_BYTES}. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const tooLarge = (): CourierError =>
    new CourierError(
      'PAYLOAD_TOO_LARGE',
      `the request body exceeds ${MAX_BODY_BYTES} bytes; send fewer ids per request`,
    );
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) {
    // Stop reading; the answer says `connection: close` (see sendError).
    req.pause();
    throw tooLarge();
  }
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.pause();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new CourierError(
      'INVALID_OPTION',
      `the request body is not valid JSON (${(error as Error).message}); send a JSON object such as {"group":"billing"} with content-type application/json`,
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new CourierError(
      'INVALID_OPTION',
      `the request body must be a JSON object, got ${Array.isArray(body) ? 'an array' : JSON.stringify(body)}; send {"group":"billing"}`,
    );
  return body as Record<string, unknown>;
}

/** A non-negative integer query parameter within `[min, max]`, or `fallback` when absent. */
export function intParam(
  url: URL,
  name: string,
  range: { min: number; max: number; fallback: number },
): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return range.fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < range.min || n > range.max)
    throw new CourierError(
      'INVALID_OPTION',
      `query parameter ${name} must be a whole number from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`,
    );
  return n;
}

/** A required non-empty string field of a JSON body. */
export function stringField(body: Record<string, unknown>, name: string, example: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '')
    throw new CourierError(
      'INVALID_OPTION',
      `the request body needs "${name}", a non-empty string (e.g. ${JSON.stringify(example)}), got ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
    );
  return value;
}

/** An optional array of non-empty strings in a JSON body. */
export function stringsField(body: Record<string, unknown>, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string' && v !== ''))
    throw new CourierError(
      'INVALID_OPTION',
      `"${name}" must be an array of non-empty strings (message ids), got ${JSON.stringify(value)}; leave it out to mean all`,
    );
  return value;
}

/** Message data for JSON: the text when it is valid UTF-8, else `{ base64 }`. */
export function payloadData(payload: Uint8Array): string | { base64: string } {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return { base64: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64') };
  }
}
