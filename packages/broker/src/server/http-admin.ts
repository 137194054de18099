/**
 * The broker's HTTP port: `/healthz` (the process answers), `/readyz` (the
 * engine is open and serving), `/metrics` (Prometheus), the admin API under
 * `/api` (docs/admin-api.md) with the broker's token auth, and the
 * dashboard's static files for everything else when a dashboard directory is
 * given. Its `server` is exposed so the WebSocket endpoint can share the port.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CourierError } from '@courier/core';
import type { BrokerEngine } from '../engine/broker-engine.js';
import { adminAuth } from './admin-auth.js';
import { sendError, sendJson } from './admin-http.js';
import { ADMIN_ROUTES, type AdminContext } from './admin-routes.js';
import type { BrokerAlerts } from './alerts.js';
import { BrokerMetrics } from './broker-metrics.js';
import type { TokenGrant } from './permissions.js';
import { type StaticHandler, staticFiles } from './static-files.js';

/** Options of {@link startHttpAdmin}. */
export interface HttpAdminOptions {
  engine: BrokerEngine;
  /** Interface to listen on. */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Whether `/readyz` answers 200. */
  ready: () => boolean;
  /** The broker's tokens: with any, `/api/*` and `/metrics` need `Authorization: Bearer <token>`. */
  tokens?: readonly (string | TokenGrant)[];
  /**
   * The metrics the engine reports to (the engine's `observer`). Default: the engine's observer when
   * it is a `BrokerMetrics`, else new metrics that only see what is read at scrape time.
   */
  metrics?: BrokerMetrics;
  /** The broker's alerts, shown at `/api/alerts`. */
  alerts?: BrokerAlerts;
  /** A directory of built dashboard files (with `index.html`) to serve at `/`. */
  dashboard?: string;
  /** The version `/api/overview` reports. Default: @courier/broker's. */
  version?: string;
}

/** A running admin HTTP server. */
export interface HttpAdmin {
  /** The node HTTP server, for other endpoints that share the port (WebSocket upgrades). */
  readonly server: Server;
  readonly port: number;
  /** The metrics served at `/metrics`. */
  readonly metrics: BrokerMetrics;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function notFound(method: string, path: string): CourierError {
  const endpoints = ['GET /healthz', 'GET /readyz', 'GET /metrics', ...ADMIN_ROUTES.map((r) => r.label)];
  return new CourierError(
    'NOT_FOUND',
    `no such endpoint ${method} ${path}; the broker serves ${endpoints.join(', ')} (see docs/admin-api.md)`,
  );
}

/** Serves the admin endpoints for an engine on `host:port` (0 picks a free port). */
export async function startHttpAdmin(options: HttpAdminOptions): Promise<HttpAdmin> {
  const { engine } = options;
  const observer = engine.observer;
  const metrics = options.metrics ?? (observer instanceof BrokerMetrics ? observer : new BrokerMetrics());
  metrics.bindEngine(engine);
  const auth = adminAuth(options.tokens ?? []);
  const files: StaticHandler | undefined = options.dashboard ? staticFiles(options.dashboard) : undefined;
  const context: AdminContext = {
    engine,
    metrics,
    alerts: options.alerts,
    version: options.version ?? packageVersion(),
    startedAt: Date.now(),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const path = url.pathname;
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz')
      return options.ready()
        ? sendJson(res, 200, { status: 'ready' })
        : sendJson(res, 503, { status: 'starting or stopping' });
    if (path === '/metrics') {
      auth.permissions(req);
      const text = await metrics.render();
      res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    if (path === '/api' || path.startsWith('/api/')) {
      const permissions = auth.permissions(req);
      for (const route of ADMIN_ROUTES) {
        const match = route.path.exec(path);
        if (!match || route.method !== method) continue;
        const params = match.slice(1).map((p) => {
          try {
            return decodeURIComponent(p);
          } catch {
            throw new CourierError('INVALID_OPTION', `${p} in ${path} is not valid URL encoding`);
          }
        });
        return sendJson(res, 200, await route.handle(context, { req, url, params, permissions }));
      }
      throw notFound(method, path);
    }
    if (files && (method === 'GET' || method === 'HEAD')) return files(path, res, method === 'HEAD');
    throw notFound(method, path);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, error));
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive sockets (a browser, a scraper) would hold close() open.
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
  return { server, port, metrics, close, [Symbol.asyncDispose]: close };
}
