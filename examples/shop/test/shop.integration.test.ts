/**
 * The example shop, as a newcomer meets it: `npm start` in the repository
 * builds everything, starts the broker and the services, and prints the
 * URLs. Orders placed over HTTP are reserved by inventory (request-reply,
 * two instances), billed and confirmed (groups), reminded (delay); orders
 * placed while billing is stopped are billed once it is back; charges that
 * keep failing land in the dead-letter queue, where the CLI lists and
 * replays them. Then the same shop on NATS, RabbitMQ and Redis through
 * COURIER_URL, each in a namespace of its own on the machine's servers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from '@courier/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { natsEngine, rabbitEngine, redisEngine, type SharedEngine } from './shared-engines.js';
import { call, courierCli, ShopRun } from './shop-run.js';

interface OrderView {
  id: string;
  reservation: { instance: string };
  state: { reserved: boolean; billed: boolean; notified: boolean; reminded: boolean };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The settings every run shares: no load generator, billing healthy, quick retries and reminders. */
const QUIET = {
  LOADGEN_RATE: '0',
  BILLING_FAIL_RATE: '0',
  BILLING_RETRY_DELAY: '200ms',
  REMINDER_DELAY: '1s',
};

async function order(base: string, sku: string, qty: number): Promise<string> {
  const { status, body } = await call(`${base}/orders`, { method: 'POST', body: { sku, qty } });
  expect(status, JSON.stringify(body)).toBe(201);
  return body['id'] as string;
}

async function view(base: string, id: string): Promise<OrderView> {
  const { status, body } = await call(`${base}/orders/${id}`);
  expect(status).toBe(200);
  return body as unknown as OrderView;
}

function until(
  base: string,
  id: string,
  what: string,
  test: (order: OrderView) => boolean,
): Promise<OrderView> {
  return eventually(
    async () => {
      const current = await view(base, id);
      return test(current) ? current : undefined;
    },
    `order ${id} to be ${what}`,
    30_000,
  );
}

async function deadLetteredOrders(url: string): Promise<string[]> {
  const listed = await courierCli(['dlq', 'list', '--group', 'billing', '--json', '--url', url]);
  expect(listed.code, listed.stderr).toBe(0);
  const entries = JSON.parse(listed.stdout) as { data: { id: string }; error: { message: string } }[];
  return entries.map((entry) => entry.data.id);
}

/** Everything a user tries in the README's tour, on a running shop. */
async function tour(shop: ShopRun, base: string, cliUrl: string): Promise<void> {
  // Bad input gets a clear answer, not a crash.
  const bad = await call(`${base}/orders`, { method: 'POST', body: { sku: 'A', qty: 0 } });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain('qty must be at least 1');
  const unknown = await call(`${base}/orders`, { method: 'POST', body: { sku: 'NOPE', qty: 1 } });
  expect(unknown.status, JSON.stringify(unknown.body)).toBe(409);
  expect(JSON.stringify(unknown.body)).toContain('unknown SKU NOPE');

  // One order through every service: reserved (RPC), billed and notified (groups), reminded (delay).
  const first = await order(base, 'A', 2);
  const done = await until(base, first, 'billed, notified and reminded', (o) =>
    Object.values(o.state).every(Boolean),
  );
  expect(done.reservation.instance).toMatch(/^inventory-[12]$/);

  // Requests at once spread over both inventory instances. NATS picks a queue member at random (all 8 go
  // to one instance once in 128 runs), so place another 8 until both have answered, at most 4 times.
  const instances = new Set<string>();
  for (let round = 0; round < 4 && instances.size < 2; round++) {
    const many = await Promise.all(Array.from({ length: 8 }, () => order(base, 'B', 1)));
    for (const id of many) instances.add((await view(base, id)).reservation.instance);
  }
  expect([...instances].sort()).toEqual(['inventory-1', 'inventory-2']);

  // Billing stopped: orders wait in its group, and are billed once it is back.
  let from = shop.mark();
  shop.type('stop billing');
  await shop.waitForLine(/^shop\s+\| billing stopped$/, { from });
  const waiting = [await order(base, 'C', 1), await order(base, 'A', 1), await order(base, 'B', 3)];
  for (const id of waiting) {
    const o = await until(base, id, 'notified', (x) => x.state.notified);
    expect(o.state.billed).toBe(false);
  }
  from = shop.mark();
  shop.type('start billing');
  await shop.waitForLine(/^shop\s+\| billing ready/, { from });
  for (const id of waiting) await until(base, id, 'billed after billing restarted', (o) => o.state.billed);

  // Charges that keep failing: three attempts, then the dead-letter queue; replayed once billing is healthy.
  from = shop.mark();
  shop.type('restart billing BILLING_FAIL_RATE=1');
  await shop.waitForLine(/^shop\s+\| billing ready .*BILLING_FAIL_RATE=1/, { from });
  const failing = [await order(base, 'A', 3), await order(base, 'C', 2)];
  await eventually(
    async () => {
      const listed = await deadLetteredOrders(cliUrl);
      return failing.every((id) => listed.includes(id)) ? listed : undefined;
    },
    'both failed charges in the dead-letter queue (courier dlq list)',
    60_000,
  );
  for (const id of failing) expect((await view(base, id)).state.billed).toBe(false);
  // Billing's log comes through the launcher's pipes, independently of the CLI's answer: wait for the line.
  await shop.waitForLine(/^billing\s+\| charge of .* declined \(attempt 3 of 3\)$/, { from });
  from = shop.mark();
  shop.type('restart billing BILLING_FAIL_RATE=0');
  await shop.waitForLine(/^shop\s+\| billing ready .*BILLING_FAIL_RATE=0/, { from });
  const replay = await courierCli(['dlq', 'replay', '--group', 'billing', '--url', cliUrl]);
  expect(replay.code, replay.stderr).toBe(0);
  expect(replay.stdout).toContain('replayed 2 dead letters to group billing');
  for (const id of failing) await until(base, id, 'billed after the replay', (o) => o.state.billed);
  expect(await deadLetteredOrders(cliUrl)).toEqual([]);
}

/** Stops the shop as Ctrl-C does and checks that it exits 0 and leaves nothing running. */
async function interrupt(shop: ShopRun): Promise<void> {
  const { code, signal, leftovers } = await shop.interrupt();
  expect({ code, signal, leftovers }, shop.tail()).toEqual({ code: 0, signal: null, leftovers: [] });
  expect(
    shop.lines.some((line) => /^shop\s+\| stopped$/.test(line)),
    shop.tail(),
  ).toBe(true);
}

describe.sequential('the example shop', () => {
  it('npm start: builds, starts the broker and the shop, and every pattern works', async () => {
    const data = await mkdtemp(join(tmpdir(), 'courier-shop-'));
    const [port, httpPort, ordersPort] = [await freePort(), await freePort(), await freePort()];
    const shop = new ShopRun('npm', ['start'], {
      ...QUIET,
      COURIER_PORT: String(port),
      COURIER_HTTP_PORT: String(httpPort),
      COURIER_DATA: data,
      ORDERS_PORT: String(ordersPort),
    });
    cleanups.push(async () => {
      shop.kill();
      await rm(data, { recursive: true, force: true });
    });
    // The build comes first, and takes a while on a fresh clone.
    await shop.waitForLine(new RegExp(`^orders: http://localhost:${ordersPort}$`), { timeoutMs: 600_000 });
    await shop.waitForLine(new RegExp(`^dashboard: http://localhost:${httpPort}/$`));
    shop.track();
    const dashboard = await fetch(`http://localhost:${httpPort}/`);
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers.get('content-type')).toContain('text/html');

    await tour(shop, `http://localhost:${ordersPort}`, `courier://127.0.0.1:${port}`);

    // A service that dies is reported, with what to do.
    const from = shop.mark();
    shop.type('status');
    const [, pid] = await shop.waitForLine(/^shop\s+\| notifications: running \(pid (\d+)\)$/, { from });
    process.kill(Number(pid), 'SIGKILL');
    await shop.waitForLine(
      /^shop\s+\| notifications crashed \(signal SIGKILL\); its output is above\. Start it again with: start notifications$/,
      { from },
    );
    await interrupt(shop);
  }, 900_000);

  const engines: [string, () => SharedEngine][] = [
    ['nats', natsEngine],
    ['rabbitmq', rabbitEngine],
    ['redis', redisEngine],
  ];
  for (const [name, makeEngine] of engines) {
    it(`COURIER_URL=${name}: the same shop, unchanged, on the machine's ${name}`, async () => {
      const engine = makeEngine();
      const ordersPort = await freePort();
      // Built by the first test (npm start); the launcher alone is what npm start runs after the build.
      const shop = new ShopRun(process.execPath, ['examples/shop/start.mjs'], {
        ...QUIET,
        COURIER_URL: engine.url,
        ORDERS_PORT: String(ordersPort),
      });
      cleanups.push(async () => {
        shop.kill();
        await engine.remove();
      });
      await shop.waitForLine(new RegExp(`^orders: http://localhost:${ordersPort}$`), { timeoutMs: 120_000 });
      await shop.waitForLine(/^dashboard: none on this engine/);
      shop.track();
      await tour(shop, `http://localhost:${ordersPort}`, engine.url);
      await interrupt(shop);
    }, 300_000);
  }
});
