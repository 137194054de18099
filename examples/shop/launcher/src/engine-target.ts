/**
 * Where the shop runs: its own broker (no `COURIER_URL`), or the engine
 * `COURIER_URL` names. Every service is its own process, so the engine must
 * be one they can share: not `memory://` or `embedded://`.
 */
import { CourierError } from '@courier/core';

/** What the launcher needs to know about the engine. */
export interface EngineTarget {
  /** The URL the services connect to. */
  url: string;
  /** Set when the launcher starts the broker itself. */
  broker?: { host: string; port: number; httpPort: number; data: string };
  /** The dashboard's address, when the engine is a Courier broker whose HTTP port is known. */
  dashboard?: string;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0 || value > 65535) {
    throw new CourierError(
      'INVALID_OPTION',
      `${name} must be a port number from 1 to 65535, got ${JSON.stringify(text)}; unset it for ${fallback}`,
    );
  }
  return value;
}

/** Decides the engine from the environment. */
export function engineTarget(env: NodeJS.ProcessEnv): EngineTarget {
  const given = env['COURIER_URL'];
  if (given === undefined || given === '') {
    const host = env['COURIER_HOST'] ?? '127.0.0.1';
    const brokerPort = port(env, 'COURIER_PORT', 4270);
    const httpPort = port(env, 'COURIER_HTTP_PORT', 4271);
    const token = env['COURIER_TOKEN']?.split(',')[0];
    const connectHost = host === '0.0.0.0' ? '127.0.0.1' : host;
    return {
      url: `courier://${token ? `${encodeURIComponent(token)}@` : ''}${connectHost}:${brokerPort}`,
      broker: { host, port: brokerPort, httpPort, data: env['COURIER_DATA'] ?? './.courier' },
      dashboard: `http://localhost:${httpPort}/`,
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(given);
  } catch {
    throw new CourierError(
      'INVALID_URL',
      `COURIER_URL=${given} is not a URL; use nats://127.0.0.1:4222, amqp://guest:guest@127.0.0.1:5672, redis://127.0.0.1:6379, or unset it to run the broker`,
    );
  }
  if (parsed.protocol === 'memory:' || parsed.protocol === 'embedded:') {
    throw new CourierError(
      'INVALID_URL',
      `COURIER_URL=${given}: the shop runs each service in its own process, and ${parsed.protocol}// lives inside one process; unset COURIER_URL to run the broker, or use courier://, nats://, amqp://, redis://`,
    );
  }
  if (parsed.protocol === 'courier:' || parsed.protocol === 'courierss:') {
    const admin = env['COURIER_ADMIN_URL'];
    const httpPort = port(env, 'COURIER_HTTP_PORT', 4271);
    return { url: given, dashboard: admin ?? `http://${parsed.hostname}:${httpPort}/` };
  }
  return { url: given };
}
