/**
 * The broker's HTTP port: `/healthz` (the process answers), `/readyz` (the
 * engine is open and serving) and JSON views of streams, groups and live
 * service instances, for
 * load balancers, Kubernetes probes and people.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { BrokerEngine } from '../engine/broker-engine.js';

/** A running admin HTTP server. */
export interface HttpAdmin {
  readonly port: number;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Serves the admin endpoints for an engine on `host:port` (0 picks a free port). */
export async function startHttpAdmin(options: {
  engine: BrokerEngine;
  host: string;
  port: number;
  ready: () => boolean;
}): Promise<HttpAdmin> {
  const routes: Record<string, (res: ServerResponse) => Promise<void> | void> = {
    '/healthz': (res) => json(res, 200, { status: 'ok' }),
    '/readyz': (res) =>
      options.ready()
        ? json(res, 200, { status: 'ready' })
        : json(res, 503, { status: 'starting or stopping' }),
    '/api/streams': async (res) => json(res, 200, [(await options.engine.stats()).stream]),
    '/api/groups': async (res) => json(res, 200, (await options.engine.stats()).groups),
    '/api/services': (res) => json(res, 200, options.engine.services.list()),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const route = routes[(req.url ?? '/').split('?')[0] ?? '/'];
    if (req.method !== 'GET' || !route) {
      json(res, 404, {
        error: `no such endpoint ${req.method} ${req.url}; try GET ${Object.keys(routes).join(', ')}`,
      });
      return;
    }
    Promise.resolve(route(res)).catch((error: unknown) => json(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
