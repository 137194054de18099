/**
 * The dashboard in a real browser (Debian's Chromium driven by
 * playwright-core) against a running broker with a token: the user enters
 * the token, sees the service and its stream appear, browses the messages,
 * finds the dead-lettered orders and the alert they fire, replays one once
 * the handler is fixed and sees it handled, discards the other after
 * confirming, and sees the dead-letter queue empty. Screenshots of every
 * view go to packages/dashboard/test-artifacts/.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BrokerAlerts,
  BrokerMetrics,
  type BrokerServer,
  type HttpAdmin,
  startBroker,
  startHttpAdmin,
} from '@courier/broker';
import { type Bus, connect, event, rpc } from '@courier/core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dashboardDir } from '../src/index.js';

const TOKEN = 'dashboard-test-token';
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(packageDir, 'test-artifacts');

const OrderCreated = event(
  'orders.created',
  z.object({ id: z.string(), total: z.number(), fail: z.boolean() }),
);
const GetOrder = rpc('orders.get', {
  request: z.object({ id: z.string() }),
  response: z.object({ id: z.string(), status: z.string() }),
});

/** Newest modification time under `dir`, in ms. */
async function newest(dir: string): Promise<number> {
  let latest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** Builds the app with Vite's JS API when dist is missing or older than its sources (a fresh checkout after `tsc -b`). */
async function ensureBuilt(): Promise<void> {
  const index = join(dashboardDir(), 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= (await newest(join(packageDir, 'app')))) return;
  const { build } = await import('vite');
  await build({ configFile: join(packageDir, 'vite.config.ts'), logLevel: 'warn' });
}

let dir: string;
let broker: BrokerServer;
let alerts: BrokerAlerts;
let admin: HttpAdmin;
let bus: Bus;
let browser: Browser;
const handled: string[] = [];
let healed = false;

beforeAll(async () => {
  await ensureBuilt();
  await mkdir(artifacts, { recursive: true });
  dir = await mkdtemp(join(tmpdir(), 'courier-dashboard-'));
  // The metrics observe the engine, so the admin API reports published and delivered totals.
  const metrics = new BrokerMetrics({ processMetrics: false });
  broker = await startBroker({ dir, port: 0, tokens: [TOKEN], observer: metrics });
  alerts = BrokerAlerts.start({
    engine: broker.engine,
    metrics,
    config: {
      intervalMs: 250,
      rules: [
        { name: 'billing-dead-letters', kind: 'dead-letters-growing', group: 'billing' },
        { name: 'billing-lag', kind: 'group-lag', group: 'billing', threshold: 100 },
      ],
    },
  });
  admin = await startHttpAdmin({
    engine: broker.engine,
    host: '127.0.0.1',
    port: 0,
    ready: () => true,
    tokens: [TOKEN],
    metrics,
    alerts,
    dashboard: dashboardDir(),
  });
  bus = await connect(`courier://${TOKEN}@127.0.0.1:${broker.port}`, { service: 'orders' });
  bus.handle(GetOrder, async ({ id }) => ({ id, status: 'created' }));
  await bus.subscribe(
    OrderCreated,
    async (order) => {
      if (order.fail && !healed) throw new Error(`card declined for order ${order.id}`);
      handled.push(order.id);
    },
    { group: 'billing', retry: { attempts: 1 } },
  ).ready;
  // The rules see the group with no dead letters before any order fails.
  await alerts.evaluate();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await bus?.close();
  await admin?.close();
  await alerts?.close();
  await broker?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function open(page: Page, view: string): Promise<void> {
  await page.getByTestId(`nav-${view}`).click();
  await page.getByTestId(`view-${view}`).waitFor();
}

/** The values of a series of the throughput chart. */
async function chartValues(page: Page, series: string): Promise<number[]> {
  const line = page.getByTestId('throughput-chart').locator(`[data-series="${series}"]`);
  const values = (await line.getAttribute('data-values')) ?? '';
  return values === '' ? [] : values.split(' ').map(Number);
}

describe('dashboard in Chromium', () => {
  it('shows the service and its stream, and replays a dead-lettered message until it is handled', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    // The broker wants a token: the dashboard asks for it, then shows the live overview.
    await page.goto(`http://127.0.0.1:${admin.port}/`);
    await page.getByTestId('token-prompt').waitFor();
    await shoot(page, '00-token-prompt');
    await page.getByTestId('token-input').fill(TOKEN);
    await page.getByTestId('token-submit').click();
    await page.getByTestId('token-prompt').waitFor({ state: 'hidden' });
    await page.getByTestId('count-services').filter({ hasText: /^1$/ }).waitFor();

    const good = await bus.publish(OrderCreated, { id: 'o-1', total: 42, fail: false });
    const bad = await bus.publish(OrderCreated, { id: 'o-2', total: 99, fail: true });
    const doomed = await bus.publish(OrderCreated, { id: 'o-3', total: 7, fail: true });
    await bus.publish(OrderCreated, { id: 'o-4', total: 12, fail: false });
    expect(await bus.request(GetOrder, { id: 'o-1' })).toEqual({ id: 'o-1', status: 'created' });
    await page.getByTestId('count-dead-letters').filter({ hasText: /^2$/ }).waitFor();
    await page.getByTestId('count-alerts').filter({ hasText: /^1$/ }).waitFor();
    await page.getByTestId('firing-alerts').filter({ hasText: 'billing-dead-letters' }).waitFor();
    // Rates need two samples: the chart has a line once the publishes fall between two of them.
    await expect
      .poll(
        async () => {
          const values = await chartValues(page, 'published');
          return values.length >= 2 && Math.max(...values) > 0;
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    await shoot(page, '01-overview');

    await open(page, 'services');
    const service = page.getByTestId('service-orders');
    await service.filter({ hasText: 'orders.get' }).waitFor();
    await service.filter({ hasText: 'orders.created' }).waitFor();
    await shoot(page, '02-services');

    const { stream } = await broker.engine.stats();
    await open(page, 'streams');
    await page.getByTestId(`stream-${stream.name}`).waitFor();
    await page.getByTestId(`browse-link-${stream.name}`).click();
    const browse = page.getByTestId(`browse-${stream.name}`);
    await browse.getByText(good.id).waitFor();
    await browse.getByText('"id":"o-2"', { exact: false }).waitFor();
    await shoot(page, '03-streams');

    await open(page, 'groups');
    await page.getByTestId('group-billing').filter({ hasText: 'orders.created' }).waitFor();
    await shoot(page, '04-groups');

    await open(page, 'topology');
    await page.getByTestId('topo-service-orders').waitFor();
    await page.getByTestId('topo-subject-orders.created').waitFor();
    await page.getByTestId('topo-subject-orders.get').waitFor();
    await page.getByTestId('topo-group-billing').waitFor();
    // The broker saw orders call orders.get (the request above): a requests edge beside the handles one.
    await page
      .locator('path[data-kind="requests"]')
      .filter({ hasText: 'orders requests orders.get' })
      .waitFor({ state: 'attached' });
    await shoot(page, '05-topology');

    await open(page, 'alerts');
    await page.getByTestId('alert-billing-dead-letters').and(page.locator('[data-state="firing"]')).waitFor();
    await page.getByTestId('alert-billing-lag').and(page.locator('[data-state="ok"]')).waitFor();
    await shoot(page, '06-alerts');

    await open(page, 'dead-letters');
    const row = page.getByTestId(`dead-letter-${bad.id}`);
    await row.filter({ hasText: 'card declined for order o-2' }).waitFor();
    await page.getByTestId(`dead-letter-${doomed.id}`).waitFor();
    expect(handled).not.toContain('o-2');
    await shoot(page, '07-dead-letters');

    // The handler is fixed; replaying the row delivers the order again, and this time it is handled.
    healed = true;
    await page.getByTestId(`replay-${bad.id}`).click();
    await page.getByTestId('dl-result').filter({ hasText: 'Replayed 1 dead letter' }).waitFor();
    await row.waitFor({ state: 'detached' });
    await expect.poll(() => handled.includes('o-2'), { timeout: 10_000 }).toBe(true);

    // The other one is discarded from the selection, after a confirmation, and never handled.
    await page.getByTestId(`dead-letter-${doomed.id}`).getByRole('checkbox').check();
    await page.getByTestId('dl-discard-selected').filter({ hasText: '(1)' }).click();
    await page.getByTestId('dl-confirm').waitFor();
    await shoot(page, '08-dead-letters-confirm-discard');
    await page.getByTestId('dl-confirm-yes').click();
    await page.getByTestId('dl-result').filter({ hasText: 'Discarded 1 dead letter' }).waitFor();
    await page.getByTestId('dead-letters-empty').waitFor();
    await shoot(page, '09-dead-letters-empty');

    expect(handled.filter((id) => id === 'o-2')).toHaveLength(1);
    expect(handled).not.toContain('o-3');
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 120_000);
});
