/**
 * Broker alerts end to end: rules from the config evaluated on the broker's
 * timer, posted to a real webhook receiver (node:http) when they fire and
 * when they resolve, shown at /api/alerts; and clear errors for bad rules.
 */
import { createServer, type Server } from 'node:http';
import { Collector } from '@courier/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { checkAlertsConfig, type WebhookPayload } from '../src/index.js';
import { eventually, type Fixture, startFixture } from './admin-fixture.js';

let fixture: Fixture | undefined;
let receiver: Server | undefined;
/** Opens handler gates a failed test left shut, so closing the bus can drain. */
const gates: (() => void)[] = [];
afterEach(async () => {
  for (const open of gates.splice(0)) open();
  await fixture?.close();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  fixture = undefined;
  receiver = undefined;
});

/** A webhook receiver on a free port collecting what it is posted. */
async function startReceiver(): Promise<{ url: string; posts: Collector<WebhookPayload> }> {
  const posts = new Collector<WebhookPayload>();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push(JSON.parse(Buffer.concat(chunks).toString()) as WebhookPayload);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver?.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/hook`, posts };
}

describe('broker alerts', () => {
  it('posts firing when a group lags past its threshold and resolved once it has consumed', async () => {
    const { url, posts } = await startReceiver();
    fixture = await startFixture({
      alerts: {
        webhook: url,
        intervalMs: 25,
        rules: [
          { name: 'workers-lag', kind: 'group-lag', group: 'workers', threshold: 5 },
          { name: 'jobs-listened', kind: 'no-subscribers', subject: 'jobs.run' },
        ],
      },
    });
    const bus = await fixture.bus('workers');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    gates.push(release);
    await bus.subscribe('jobs.run', () => gate, { group: 'workers', concurrency: 1 }).ready;
    for (let n = 0; n < 10; n++) await bus.publish('jobs.run', n);

    const about = (p: WebhookPayload, status: string, rule: string): boolean =>
      p.status === status && p.alerts.some((a) => a.labels['alertname'] === rule);
    // jobs-listened fired at start (nobody subscribed yet) and resolved when the group attached.
    const firing = (
      await posts.until((p) => p.some((x) => about(x, 'firing', 'workers-lag')), 10_000, 'lag firing')
    ).find((x) => about(x, 'firing', 'workers-lag'));
    expect(firing).toMatchObject({ status: 'firing', receiver: 'courier' });
    const alert = firing?.alerts[0];
    expect(alert?.labels).toEqual({
      alertname: 'workers-lag',
      kind: 'group-lag',
      group: 'workers',
      pattern: 'jobs.run',
    });
    // The rule fires as soon as the lag passes 5, which may be before the tenth publish lands.
    const lag = /group workers on jobs\.run has (\d+) messages not yet delivered \(threshold 5\)/.exec(
      alert?.annotations.summary ?? '',
    );
    expect(Number(lag?.[1])).toBeGreaterThan(5);
    expect(Number(lag?.[1])).toBeLessThanOrEqual(9);
    expect(alert?.endsAt).toBe('0001-01-01T00:00:00Z');
    // /api/alerts shows the last evaluation, which may predate the last publishes: wait for the settled lag.
    type Shown = { rule: string; state: string; value: number }[];
    const shown = await eventually(async () => {
      const body = (await fixture?.call('/api/alerts'))?.body as Shown;
      return body[0]?.value === 9 ? body : undefined;
    }, 'workers-lag at 9 in /api/alerts');
    expect(shown[0]).toMatchObject({ rule: 'workers-lag', kind: 'group-lag', state: 'firing', value: 9 });
    expect(shown.find((a) => a.rule === 'jobs-listened')).toMatchObject({ state: 'ok', value: 1 });
    expect((await fixture.call('/api/overview')).body).toMatchObject({ alerts: { firing: 1 } });

    release();
    const all = await posts.until(
      (p) => p.some((x) => about(x, 'resolved', 'workers-lag')),
      10_000,
      'lag resolved',
    );
    const resolved = all.find((p) => about(p, 'resolved', 'workers-lag'));
    expect(resolved?.alerts[0]).toMatchObject({ status: 'resolved', labels: { alertname: 'workers-lag' } });
    expect(Date.parse(resolved?.alerts[0]?.endsAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(alert?.startsAt ?? ''),
    );
    expect(all.filter((p) => about(p, 'firing', 'workers-lag'))).toHaveLength(1);
    const after = (await fixture.call('/api/alerts')).body as { rule: string; state: string }[];
    expect(after.find((a) => a.rule === 'workers-lag')?.state).toBe('ok');

    // The only subscriber leaves: the no-subscribers rule fires.
    await bus.close();
    const before = posts.items.length;
    const withGone = await posts.until(
      (p) => p.slice(before).some((x) => about(x, 'firing', 'jobs-listened')),
      10_000,
      'jobs-listened firing again',
    );
    expect(withGone.at(-1)?.alerts[0]?.labels).toMatchObject({ subject: 'jobs.run' });
  });

  it('fires instance-gone when a service it saw has no live instance, and dead-letters-growing on new dead letters', async () => {
    const { url, posts } = await startReceiver();
    fixture = await startFixture({
      alerts: {
        webhook: url,
        intervalMs: 25,
        rules: [
          { name: 'payments-down', kind: 'instance-gone', service: 'payments' },
          { name: 'dlq', kind: 'dead-letters-growing', window: '1h' },
        ],
      },
    });
    const payments = await fixture.bus('payments');
    await payments.subscribe(
      'pay.*',
      () => {
        throw new Error('no');
      },
      { group: 'payers', retry: { attempts: 1 } },
    ).ready;
    await payments.publish('pay.now', 1);
    const dlq = await posts.until(
      (p) => p.some((x) => x.alerts.some((a) => a.labels['alertname'] === 'dlq')),
      10_000,
      'dlq firing',
    );
    expect(dlq.find((p) => p.alerts.some((a) => a.labels['alertname'] === 'dlq'))?.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { group: 'payers' },
      annotations: { value: '1' },
    });
    // payments was live at start (instance-gone fired then, before it connected) and resolved once it did.
    await eventually(async () => {
      const shown = (await fixture?.call('/api/alerts'))?.body as { rule: string; state: string }[];
      return shown.find((a) => a.rule === 'payments-down')?.state === 'ok' ? true : undefined;
    }, 'payments-down ok');
    await payments.close();
    await posts.until(
      (p) =>
        p.some(
          (x) =>
            x.status === 'firing' &&
            x.alerts.some((a) => a.labels['alertname'] === 'payments-down') &&
            p.indexOf(x) > 0,
        ),
      10_000,
      'payments-down firing after the instance left',
    );
  });

  it('refuses bad rules with INVALID_OPTION naming the rule and field', () => {
    const bad = (config: unknown): string => {
      try {
        checkAlertsConfig(config);
      } catch (error) {
        expect((error as { code?: string }).code).toBe('INVALID_OPTION');
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ rules: [{ name: 'x', kind: 'lag' }] })).toMatch(/rules\[0\]\.kind must be one of group-lag/);
    expect(bad({ rules: [{ name: 'x', kind: 'no-subscribers' }] })).toMatch(
      /rules\[0\]\.subject is required/,
    );
    expect(bad({ rules: [{ name: 'x', kind: 'group-lag', threshold: -1 }] })).toMatch(
      /threshold must be a number >= 0/,
    );
    expect(bad({ rules: [{ name: 'x', kind: 'disk-nearly-full', threshold: 90 }] })).toMatch(/from 0 to 1/);
    expect(bad({ rules: [{ name: 'x', kind: 'group-lag', for: 'soon' }] })).toMatch(/for/);
    expect(
      bad({
        rules: [
          { name: 'x', kind: 'group-lag' },
          { name: 'x', kind: 'group-lag' },
        ],
      }),
    ).toMatch(/unique/);
    expect(bad({ webhook: 'ftp://x', rules: [] })).toMatch(/webhook must be an http/);
    expect(bad({ rules: 'none' })).toMatch(/rules must be an array/);
    expect(
      checkAlertsConfig({ rules: [{ name: 'disk', kind: 'disk-nearly-full' }] }).rules[0]?.threshold,
    ).toBe(0.9);
  });
});
