/**
 * `connect`: a Bus from a URL or a transport. The URL's scheme picks the
 * transport package, loaded by dynamic import so that applications install
 * only the engines they use.
 */
import { Bus } from './bus.js';
import type { BusOptions } from './bus-options.js';
import { CourierError } from './errors.js';
import { MemoryEngine } from './memory/memory-engine.js';
import { memoryTransport } from './memory/memory-transport.js';
import type { Transport } from './transport.js';

/**
 * What a transport package exports for its schemes: a function from the URL
 * (and options from `connect`) to a connected transport.
 */
export type CreateTransport = (url: URL, options: Record<string, unknown>) => Promise<Transport>;

/** Which package serves each scheme. `memory` is built in. */
export const TRANSPORT_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  courier: '@courier/broker',
  couriers: '@courier/broker',
  'courier+ws': '@courier/broker',
  'courier+wss': '@courier/broker',
  embedded: '@courier/broker',
  nats: '@courier/nats',
  amqp: '@courier/amqp',
  amqps: '@courier/amqp',
  redis: '@courier/redis',
  rediss: '@courier/redis',
  kafka: '@courier/kafka',
  stomp: '@courier/stomp',
  stomps: '@courier/stomp',
  amqp10: '@courier/amqp10',
  amqps10: '@courier/amqp10',
});

/** Options of `connect`: the Bus's, plus options for the transport a URL creates. */
export interface ConnectOptions extends BusOptions {
  /** Passed to the transport package's `createTransport`. */
  transport?: Record<string, unknown>;
  /** This service's version (its release), for engines that list services (the Courier broker). */
  version?: string;
}

// `memory://name` engines are shared by name inside the process, as `vm://` brokers are.
const namedEngines = new Map<string, MemoryEngine>();

function parse(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new CourierError(
      'INVALID_URL',
      `${JSON.stringify(url)} is not a URL; use a form like memory://, courier://localhost:4270 or nats://localhost:4222`,
    );
  }
}

/** The package to import for a scheme, or an error listing the schemes. */
function packageFor(url: URL): string {
  const scheme = url.protocol.replace(/:$/, '');
  const name = TRANSPORT_PACKAGES[scheme];
  if (name === undefined) {
    const known = ['memory', ...Object.keys(TRANSPORT_PACKAGES)].join(', ');
    throw new CourierError('INVALID_URL', `unknown scheme ${scheme}:// in ${url.href}; use one of ${known}`);
  }
  return name;
}

/**
 * Loads the transport for a URL.
 * @param load imports a package by name; tests replace it.
 * @throws CourierError `INVALID_URL`, or `TRANSPORT_NOT_INSTALLED` naming the package to install.
 */
export async function transportFromUrl(
  url: string,
  options: Record<string, unknown> = {},
  load: (name: string) => Promise<unknown> = (name) => import(name),
): Promise<Transport> {
  const parsed = parse(url);
  if (parsed.protocol === 'memory:') {
    const name = parsed.host + parsed.pathname.replace(/^\/+$/, '');
    if (name === '') return memoryTransport();
    let engine = namedEngines.get(name);
    if (!engine) {
      engine = new MemoryEngine();
      namedEngines.set(name, engine);
    }
    return memoryTransport({ engine });
  }
  const name = packageFor(parsed);
  let loaded: unknown;
  try {
    loaded = await load(name);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes(name)) {
      throw new CourierError(
        'TRANSPORT_NOT_INSTALLED',
        `${parsed.protocol}// needs the package ${name}, which is not installed; run npm install ${name}`,
        { data: { package: name }, cause: error },
      );
    }
    throw error;
  }
  const create = (loaded as { createTransport?: unknown }).createTransport;
  if (typeof create !== 'function') {
    throw new CourierError(
      'INTERNAL',
      `${name} does not export createTransport; its version may not match @courier/core`,
    );
  }
  return (create as CreateTransport)(parsed, options);
}

/**
 * Connects a Bus: to a URL (`memory://`, `courier://host:4270`,
 * `nats://host:4222`, ...) or to a transport you built.
 */
export async function connect(target: string | Transport, options: ConnectOptions = {}): Promise<Bus> {
  const { transport: transportOptions, version, ...busOptions } = options;
  // The service's identity goes to the transport too, for engines with a service registry, and so
  // does onError, for transports that report background errors (a lost Redis or Kafka connection).
  const identity = {
    ...(busOptions.service !== undefined ? { service: busOptions.service } : {}),
    ...(busOptions.instance !== undefined ? { instance: busOptions.instance } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(busOptions.onError !== undefined ? { onError: busOptions.onError } : {}),
  };
  const transport =
    typeof target === 'string'
      ? await transportFromUrl(target, { ...identity, ...transportOptions })
      : target;
  try {
    return new Bus(transport, busOptions);
  } catch (error) {
    // A bad option must not leave the connection this call opened behind.
    if (typeof target === 'string') await transport.close();
    throw error;
  }
}
