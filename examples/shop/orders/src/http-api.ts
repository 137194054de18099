/**
 * The orders HTTP API, on node:http: `POST /orders` reserves stock through
 * `inventory.reserve` (request-reply) and publishes `orders.created`;
 * `GET /orders/:id` shows what every service has reported since.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Bus, CourierError, type ResponseOutput } from '@courier/core';
import { OrderCreated, Reserve } from '@courier/shop-contracts';
import { z } from 'zod';
import type { Order, OrderStore } from './order-store.js';

const NewOrder = z.object({
  sku: z.string().min(1, 'sku must be a non-empty string such as "A"'),
  qty: z.number().int('qty must be a whole number').positive('qty must be at least 1'),
});

const MAX_BODY = 16 * 1024;

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  bus: Bus;
  store: OrderStore;
  port: number;
  host?: string;
  log(line: string): void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY)
      throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body is over ${MAX_BODY} bytes; send {"sku","qty"}`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'INVALID_MESSAGE', 'the body is not JSON; send {"sku": "A", "qty": 1}');
  }
}

async function placeOrder(options: HttpApiOptions, body: unknown): Promise<Order> {
  const parsed = NewOrder.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => issue.message).join('; ');
    throw new HttpError(400, 'INVALID_MESSAGE', `${problems}; send {"sku": "A", "qty": 1}`);
  }
  const { sku, qty } = parsed.data;
  let reply: ResponseOutput<typeof Reserve>;
  try {
    reply = await options.bus.request(Reserve, { sku, qty }, { timeout: '2s' });
  } catch (error) {
    if (
      error instanceof CourierError &&
      ['NO_RESPONDERS', 'TIMEOUT', 'CONNECTION_CLOSED'].includes(error.code)
    ) {
      throw new HttpError(
        503,
        error.code,
        `inventory did not answer (${error.code}: ${error.message}); is an inventory instance running?`,
      );
    }
    throw error;
  }
  if (!reply.ok || reply.reservationId === undefined || reply.unitPrice === undefined) {
    throw new HttpError(
      409,
      'NOT_RESERVED',
      reply.reason ?? `${reply.instance} could not reserve ${qty} x ${sku}`,
    );
  }
  const id = `o-${randomBytes(5).toString('hex')}`;
  const total = Math.round(reply.unitPrice * qty * 100) / 100;
  const order: Order = {
    id,
    sku,
    qty,
    total,
    reservation: { id: reply.reservationId, instance: reply.instance },
    state: { reserved: true, billed: false, notified: false, reminded: false },
    createdAt: new Date().toISOString(),
  };
  options.store.add(order);
  // The key keeps one SKU's orders in order inside each group; the id makes a retried publish idempotent.
  await options.bus.publish(
    OrderCreated,
    { id, sku, qty, total, reservationId: reply.reservationId },
    { id: `created-${id}`, key: sku },
  );
  options.log(`order ${id}: ${qty} x ${sku} = ${total}, reserved by ${reply.instance}`);
  return order;
}

async function route(options: HttpApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
  if (path === '/orders' && req.method === 'POST') {
    const order = await placeOrder(options, await readJson(req));
    return send(res, 201, { id: order.id, total: order.total, reservedBy: order.reservation.instance });
  }
  if (path === '/orders' && req.method === 'GET') return send(res, 200, options.store.latest(50));
  const match = /^\/orders\/([^/]+)$/.exec(path);
  if (match?.[1] !== undefined && req.method === 'GET') {
    const id = decodeURIComponent(match[1]);
    const order = options.store.get(id);
    if (!order) throw new HttpError(404, 'NOT_FOUND', `no order ${id}; GET /orders lists the latest`);
    return send(res, 200, order);
  }
  if (path === '/healthz') return send(res, 200, { ok: true });
  throw new HttpError(
    404,
    'NOT_FOUND',
    `no route ${req.method} ${path}; try POST /orders, GET /orders or GET /orders/:id`,
  );
}

/** Serves the API; resolves once it listens. */
export async function startHttpApi(options: HttpApiOptions): Promise<Server> {
  const server = createServer((req, res) => {
    route(options, req, res).catch((error: unknown) => {
      if (error instanceof HttpError)
        return send(res, error.status, { error: { code: error.code, message: error.message } });
      options.log(`error: ${String(error)}`);
      const code = error instanceof CourierError ? error.code : 'INTERNAL';
      send(res, 500, { error: { code, message: String((error as Error).message ?? error) } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
