/**
 * The shop launcher: starts the broker (unless `COURIER_URL` names another
 * engine), waits until it is ready, starts the services, prints where to
 * look, and stops everything in order: the load generator, the orders API,
 * the other services (each draining its bus), then the broker.
 */
import { fileURLToPath } from 'node:url';
import { CourierError } from '@courier/core';
import { redact } from '@courier/shop-contracts';
import { type ChildExit, describeExit, ShopChild } from './child-process.js';
import type { EngineTarget } from './engine-target.js';

/** A service the launcher can start: its name, its package folder, extra environment. */
export interface ServiceSpec {
  name: string;
  /** The folder under examples/shop whose dist/index.js it runs. */
  folder: string;
  env?: Record<string, string>;
}

/** The shop's services in start order (stop order is the reverse). */
export function shopServices(env: NodeJS.ProcessEnv): ServiceSpec[] {
  const services: ServiceSpec[] = [
    { name: 'inventory-1', folder: 'inventory', env: { INSTANCE: 'inventory-1' } },
    { name: 'inventory-2', folder: 'inventory', env: { INSTANCE: 'inventory-2' } },
    { name: 'billing', folder: 'billing' },
    { name: 'notifications', folder: 'notifications' },
    { name: 'orders', folder: 'orders' },
  ];
  const rate = env['LOADGEN_RATE'] ?? '2';
  if (Number(rate) !== 0) services.push({ name: 'loadgen', folder: 'loadgen', env: { LOADGEN_RATE: rate } });
  return services;
}

/** Options of {@link ShopLauncher}. */
export interface ShopLauncherOptions {
  target: EngineTarget;
  services: ServiceSpec[];
  /** The environment the children inherit. */
  env: NodeJS.ProcessEnv;
  /** The orders API's port, for the printed URL. */
  ordersPort: number;
  /** Writes a line to the terminal. */
  write(line: string): void;
  /** Colours for prefixes (a terminal) or none (a pipe). */
  color: boolean;
}

const SHOP = new URL('../../', import.meta.url);
const COLORS = [36, 33, 35, 32, 34, 91, 96, 93];
const PREFIX_WIDTH = 14;

/** Makes the broker's JSON log lines readable: level and message, plus the URL when there is one. */
function formatBrokerLine(line: string): string {
  try {
    const record = JSON.parse(line) as {
      level?: number;
      msg?: string;
      url?: string;
      err?: { message?: string };
    };
    if (typeof record.msg !== 'string') return line;
    const level = (record.level ?? 30) >= 50 ? 'error: ' : (record.level ?? 30) >= 40 ? 'warning: ' : '';
    const detail = record.err?.message ? ` (${record.err.message})` : '';
    return `${level}${record.msg}${detail}`;
  } catch {
    return line;
  }
}

/** Runs the broker and the shop's services as child processes. */
export class ShopLauncher {
  readonly #options: ShopLauncherOptions;
  readonly #children = new Map<string, ShopChild>();
  readonly #overrides = new Map<string, Record<string, string>>();
  #broker: ShopChild | undefined;
  #colorIndex = 0;
  readonly #colorOf = new Map<string, number>();
  #stopping = false;

  constructor(options: ShopLauncherOptions) {
    this.#options = options;
  }

  /** Prints a line of the launcher's own. */
  say(line: string): void {
    this.#options.write(this.#prefix('shop', line));
  }

  #prefix(name: string, line: string): string {
    const label = name.padEnd(PREFIX_WIDTH);
    if (!this.#options.color) return `${label}| ${line}`;
    let color = this.#colorOf.get(name);
    if (color === undefined) {
      color = COLORS[this.#colorIndex++ % COLORS.length] ?? 36;
      this.#colorOf.set(name, color);
    }
    return `\u001b[${color}m${label}|\u001b[0m ${line}`;
  }

  /** Starts the broker if needed, then every service; resolves when all are ready. */
  async start(): Promise<void> {
    const { broker } = this.#options.target;
    if (broker) {
      this.say(`starting the broker (data in ${broker.data})`);
      this.#broker = new ShopChild({
        name: 'broker',
        script: fileURLToPath(new URL('dist/broker-process.js', new URL('launcher/', SHOP))),
        env: this.#options.env,
        print: (line) => this.#options.write(this.#prefix('broker', line)),
        format: formatBrokerLine,
        onExit: (exit) => this.#exited('broker', exit),
      });
      await this.#brokerReady(this.#broker, broker.httpPort);
    } else {
      this.say(`using the engine at ${redact(this.#options.target.url)}`);
    }
    for (const spec of this.#options.services) await this.startService(spec.name);
  }

  /** The names of the services, for `status` and commands. */
  get serviceNames(): string[] {
    return this.#options.services.map((spec) => spec.name);
  }

  /** What is running, one line per process. */
  status(): string[] {
    const lines: string[] = [];
    const all = this.#broker ? [this.#broker, ...this.#children.values()] : [...this.#children.values()];
    for (const child of all)
      lines.push(`${child.name}: ${child.running ? `running (pid ${child.pid})` : 'stopped'}`);
    for (const name of this.serviceNames) if (!this.#children.has(name)) lines.push(`${name}: stopped`);
    return lines;
  }

  /** Starts one service (with extra environment variables, kept for later restarts); resolves when it is ready. */
  async startService(name: string, extraEnv: Record<string, string> = {}): Promise<void> {
    const spec = this.#options.services.find((s) => s.name === name);
    if (!spec)
      throw new CourierError(
        'INVALID_OPTION',
        `no service ${name}; the services are ${this.serviceNames.join(', ')}`,
      );
    if (this.#children.get(name)?.running)
      throw new CourierError('INVALID_OPTION', `${name} is already running; stop it first`);
    const overrides = { ...(this.#overrides.get(name) ?? {}), ...extraEnv };
    this.#overrides.set(name, overrides);
    const child = new ShopChild({
      name,
      script: fileURLToPath(new URL(`${spec.folder}/dist/index.js`, SHOP)),
      env: { ...this.#options.env, COURIER_URL: this.#options.target.url, ...spec.env, ...overrides },
      print: (line) => this.#options.write(this.#prefix(name, line)),
      onExit: (exit) => this.#exited(name, exit),
    });
    this.#children.set(name, child);
    await child.ready();
    const extra = Object.entries(overrides)
      .map(([key, value]) => ` ${key}=${value}`)
      .join('');
    this.say(`${name} ready (pid ${child.pid}${extra})`);
  }

  /** Stops one service: it finishes its in-flight work first. */
  async stopService(name: string): Promise<void> {
    const child = this.#children.get(name);
    if (!child?.running)
      throw new CourierError(
        'INVALID_OPTION',
        `${name} is not running; the services are ${this.serviceNames.join(', ')}`,
      );
    await child.stop();
    this.say(`${name} stopped`);
  }

  /** Stops the services (load generator and orders first), then the broker. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const running = [...this.#children.values()].filter((child) => child.running);
    // No new orders first: the load generator, then the API; the rest drain in parallel.
    const first = ['loadgen', 'orders'].flatMap((name) => running.filter((child) => child.name === name));
    for (const child of first) await child.stop();
    await Promise.all(running.filter((child) => !first.includes(child)).map((child) => child.stop()));
    if (this.#broker?.running) {
      this.say('services stopped; stopping the broker');
      await this.#broker.stop();
    }
  }

  /** Kills everything at once (a second Ctrl-C). */
  kill(): void {
    this.#stopping = true;
    for (const child of this.#children.values()) child.kill();
    this.#broker?.kill();
  }

  #exited(name: string, exit: ChildExit): void {
    if (exit.requested || this.#stopping) return;
    if (name === 'broker') {
      this.say(
        `the broker exited (${describeExit(exit)}); the services will reconnect when it is back. Its output is above.`,
      );
      return;
    }
    this.say(
      `${name} crashed (${describeExit(exit)}); its output is above. Start it again with: start ${name}`,
    );
  }

  async #brokerReady(broker: ShopChild, httpPort: number): Promise<void> {
    const url = `http://127.0.0.1:${httpPort}/readyz`;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (!broker.running) {
        const exit = await broker.exited;
        throw new Error(
          `the broker exited (${describeExit(exit)}) before it was ready; see its output above (is another broker on the same ports? set COURIER_PORT and COURIER_HTTP_PORT)`,
        );
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the broker was not ready at ${url} within 60 s; see its output above`);
  }

  /** The lines that say where to look and what to try. */
  banner(): string[] {
    const orders = `http://localhost:${this.#options.ordersPort}`;
    const { dashboard } = this.#options.target;
    return [
      '',
      `orders: ${orders}`,
      dashboard !== undefined
        ? `dashboard: ${dashboard}`
        : 'dashboard: none on this engine (the dashboard is served by the Courier broker: unset COURIER_URL)',
      '',
      `Try: curl -s -XPOST ${orders}/orders -H 'content-type: application/json' -d '{"sku":"A","qty":2}'`,
      `then curl -s ${orders}/orders/<id> to watch inventory, billing and notifications report back.`,
      'Type here: "stop billing", place orders, "start billing" and watch the backlog drain;',
      '"restart billing BILLING_FAIL_RATE=1" to fill the dead-letter queue (npx courier dlq list --group billing);',
      '"status" lists the processes. Ctrl-C stops everything.',
      '',
    ];
  }
}
