/**
 * Reads the broker's HTTP admin API (`GET /api/...`, see
 * docs/cli.md and the broker's http-admin), with the token as a bearer
 * header, a deadline, and errors that say what to fix.
 */
import { CourierError } from '@courier/core';
import { type ConnectionSettings, redact } from './connection.js';
import { usageError } from './failures.js';

/** The error body the admin API sends: `{ error: { code, message } }` (or a plain message). */
interface ErrorBody {
  error?: { code?: unknown; message?: unknown } | string;
}

function endpoint(settings: ConnectionSettings, path: string): URL {
  let base: URL;
  try {
    base = new URL(settings.admin);
  } catch {
    throw new CourierError(
      'INVALID_URL',
      `--admin must be an http:// or https:// URL such as http://127.0.0.1:4271, got ${JSON.stringify(settings.admin)}`,
    );
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw usageError(
      `--admin must be an http:// or https:// URL (the broker's HTTP port, 4271 by default), got ${redact(settings.admin)}`,
    );
  }
  return new URL(path, base);
}

/** GETs a JSON document from the admin API. */
export async function adminGet(settings: ConnectionSettings, path: string): Promise<unknown> {
  const url = endpoint(settings, path);
  const shown = redact(url.href);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: {
        accept: 'application/json',
        ...(settings.token !== undefined ? { authorization: `Bearer ${settings.token}` } : {}),
      },
      signal: AbortSignal.timeout(settings.connectTimeout),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const reason =
      typeof cause?.code === 'string'
        ? cause.code
        : typeof cause?.message === 'string'
          ? cause.message
          : error instanceof Error
            ? error.message
            : String(error);
    throw new CourierError(
      (error as Error).name === 'TimeoutError' ? 'TIMEOUT' : 'CONNECTION_CLOSED',
      `cannot reach the broker's admin API at ${shown} (${reason}); is the broker running? point --admin (COURIER_ADMIN_URL) at its HTTP port, 4271 by default`,
      { cause: error },
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok) {
    if (body === undefined) {
      throw new CourierError(
        'PROTOCOL_ERROR',
        `${shown} did not answer JSON; is --admin (COURIER_ADMIN_URL) the broker's HTTP port?`,
      );
    }
    return body;
  }
  const error = (body as ErrorBody | undefined)?.error;
  const message =
    typeof error === 'string'
      ? error
      : typeof error?.message === 'string'
        ? error.message
        : `HTTP ${response.status} ${response.statusText}`;
  if (response.status === 401) {
    throw new CourierError(
      'UNAUTHORIZED',
      `the broker refused the request to ${shown}: ${message}; pass its token with --token or COURIER_TOKEN`,
    );
  }
  if (response.status === 404) {
    throw new CourierError(
      'NOT_FOUND',
      `${shown} does not exist (${message}); is --admin (COURIER_ADMIN_URL) a Courier broker's HTTP port, of a version with this endpoint?`,
    );
  }
  const code = typeof error === 'object' && typeof error.code === 'string' ? error.code : 'INTERNAL';
  throw new CourierError(code, `${shown} failed: ${message}`);
}

/** GETs a JSON array from the admin API, refusing anything else. */
export async function adminList(
  settings: ConnectionSettings,
  path: string,
): Promise<Record<string, unknown>[]> {
  const body = await adminGet(settings, path);
  if (!Array.isArray(body)) {
    throw new CourierError(
      'PROTOCOL_ERROR',
      `${redact(endpoint(settings, path).href)} answered ${typeof body}, not a list; is the broker of the same version as this CLI?`,
    );
  }
  return body as Record<string, unknown>[];
}
