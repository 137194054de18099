/**
 * `stomp://` and `stomps://` URLs: `stomp://user:pass@host:61613?vhost=/&heartbeat=10000&scheduler=true&maxPayload=1048576`.
 * Options passed to `connect({ transport })` win over the URL's.
 */
import { CourierError } from '@courier/core';
import { StompTransport, type StompTransportOptions } from './stomp-transport.js';

function positive(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new CourierError(
      'INVALID_OPTION',
      `${name} must be a non-negative number, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function flag(name: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new CourierError('INVALID_OPTION', `${name} must be true or false, got ${JSON.stringify(value)}`);
}

/** The transport options a URL and `connect`'s transport options describe. */
export function optionsFromUrl(url: URL, options: Record<string, unknown> = {}): StompTransportOptions {
  if (url.protocol !== 'stomp:' && url.protocol !== 'stomps:') {
    throw new CourierError('INVALID_URL', `${url.href} is not a stomp:// or stomps:// URL`);
  }
  const param = (name: string): unknown => options[name] ?? url.searchParams.get(name) ?? undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const out: StompTransportOptions = {
    host,
    port: url.port === '' ? 61613 : Number(url.port),
  };
  const tls = options['tls'];
  if (typeof tls === 'object' && tls !== null) out.tls = tls as object;
  else if (url.protocol === 'stomps:' || tls === true) out.tls = {};
  const login = options['login'] ?? (url.username === '' ? undefined : decodeURIComponent(url.username));
  const passcode =
    options['passcode'] ?? (url.password === '' ? undefined : decodeURIComponent(url.password));
  if (login !== undefined) out.login = String(login);
  if (passcode !== undefined) out.passcode = String(passcode);
  const vhost = param('vhost');
  if (vhost !== undefined) out.vhost = String(vhost);
  const numbers = [
    'heartbeat',
    'connectTimeout',
    'maxPayload',
    'reconnectDelay',
    'maxReconnectDelay',
  ] as const;
  for (const name of numbers) {
    const value = positive(name, param(name));
    if (value !== undefined) out[name] = value;
  }
  const scheduler = flag('scheduler', param('scheduler'));
  if (scheduler !== undefined) out.scheduler = scheduler;
  return out;
}

/** What `connect('stomp://...')` calls. */
export async function createTransport(
  url: URL,
  options: Record<string, unknown> = {},
): Promise<StompTransport> {
  return StompTransport.connect(optionsFromUrl(url, options));
}
