/**
 * A broker with its metrics and HTTP admin on free ports in a temp dir, for
 * the admin, metrics and alerts tests: buses that connect to it, JSON calls
 * to its HTTP port, and polling with a deadline.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bus, connect } from '@courier/core';
import {
  type AlertsConfig,
  BrokerAlerts,
  BrokerMetrics,
  type BrokerServer,
  courierTransport,
  type HttpAdmin,
  startBroker,
  startHttpAdmin,
  type TokenGrant,
} from '../src/index.js';

/** Options of {@link startFixture}. */
export interface FixtureOptions {
  tokens?: (string | TokenGrant)[];
  dashboard?: string;
  alerts?: AlertsConfig;
  subjectLimit?: number;
}

/** A running broker with its admin port. */
export interface Fixture {
  broker: BrokerServer;
  admin: HttpAdmin;
  metrics: BrokerMetrics;
  alerts: BrokerAlerts | undefined;
  /** The admin base URL, `http://127.0.0.1:PORT`. */
  http: string;
  /** A bus on the broker for `service`. */
  bus(service: string, token?: string): Promise<Bus>;
  /** An HTTP call to the admin port: status and parsed JSON (or text). */
  call(
    path: string,
    options?: { token?: string; method?: string; body?: unknown; rawBody?: string },
  ): Promise<{ status: number; body: unknown; headers: Headers; text: string }>;
  close(): Promise<void>;
}

/** Starts a broker (port 0), its metrics, alerts when given, and the admin HTTP server. */
export async function startFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'courier-admin-'));
  const metrics = new BrokerMetrics({
    ...(options.subjectLimit ? { subjectLimit: options.subjectLimit } : {}),
  });
  const broker = await startBroker({ dir, port: 0, observer: metrics, tokens: options.tokens ?? [] });
  const alerts = options.alerts
    ? BrokerAlerts.start({ engine: broker.engine, metrics, config: options.alerts })
    : undefined;
  const admin = await startHttpAdmin({
    engine: broker.engine,
    host: '127.0.0.1',
    port: 0,
    ready: () => true,
    metrics,
    tokens: options.tokens ?? [],
    ...(alerts ? { alerts } : {}),
    ...(options.dashboard ? { dashboard: options.dashboard } : {}),
  });
  const buses: Bus[] = [];
  const http = `http://127.0.0.1:${admin.port}`;
  return {
    broker,
    admin,
    metrics,
    alerts,
    http,
    async bus(service, token) {
      const transport = await courierTransport({ port: broker.port, service, ...(token ? { token } : {}) });
      const bus = await connect(transport, { service, onError: () => undefined });
      buses.push(bus);
      return bus;
    },
    async call(path, callOptions = {}) {
      const headers: Record<string, string> = {};
      if (callOptions.token) headers['authorization'] = `Bearer ${callOptions.token}`;
      let body: string | undefined = callOptions.rawBody;
      if (callOptions.body !== undefined) body = JSON.stringify(callOptions.body);
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(http + path, {
        method: callOptions.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: response.status, body: parsed, headers: response.headers, text };
    },
    async close() {
      for (const bus of buses) await bus.close();
      await alerts?.close();
      await admin.close();
      await broker.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export { eventually } from '@courier/testkit';
