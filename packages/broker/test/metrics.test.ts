/**
 * The broker's /metrics after a known workload: published, delivered,
 * redelivered, acked and dead-lettered counts by subject and group, lag,
 * stream sizes, connections and services, parsed with a Prometheus text
 * parser, and the cap on distinct subject labels.
 */
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, type Fixture, startFixture } from './admin-fixture.js';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function scrape(f: Fixture, token?: string): Promise<PromFamily[]> {
  const { status, text, headers } = await f.call('/metrics', token ? { token } : {});
  expect(status).toBe(200);
  expect(headers.get('content-type')).toMatch(/^text\/plain/);
  return parsePrometheusTextFormat(text);
}

/** The value of `name` with exactly `labels` (undefined when absent). */
function sample(
  families: PromFamily[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = families.find((f) => f.name === name);
  const found = family?.metrics.find(
    (m) =>
      JSON.stringify(Object.entries(m.labels ?? {}).sort()) === JSON.stringify(Object.entries(labels).sort()),
  );
  if (!found || !('value' in found)) return undefined;
  return Number(found.value);
}

/** Observations in a histogram family (its +Inf bucket). */
function histogramTotal(families: PromFamily[], name: string): number | undefined {
  const found = families.find((f) => f.name === name)?.metrics[0];
  return found && 'buckets' in found ? Number(found.buckets['+Inf']) : undefined;
}

describe('broker /metrics', () => {
  it('reports the exact counts of a known workload', async () => {
    fixture = await startFixture();
    const f = fixture;
    const bus = await f.bus('metrics-test');
    const a = ['a0', 'a1', 'a2', 'a3', 'a4'];
    const b = ['b0', 'poison', 'b2'];
    const handled: string[] = [];
    await bus.subscribe<string>(
      'shop.*',
      (data) => {
        if (data === 'poison') throw new Error('cannot bill this');
        handled.push(data);
      },
      { group: 'billing', retry: { attempts: 2, delay: 10 } },
    ).ready;
    for (const d of a) await bus.publish('shop.a', d);
    for (const d of b) await bus.publish('shop.b', d);
    const bytes = (list: string[]): number =>
      list.reduce((n, d) => n + Buffer.byteLength(JSON.stringify(d)), 0);

    await eventually(async () => {
      const parsed = await scrape(f);
      const dead = sample(parsed, 'courier_dead_letters_total', { group: 'billing', subject: 'shop.b' });
      const acked = sample(parsed, 'courier_acked_messages_total', { group: 'billing', subject: 'shop.b' });
      return dead === 1 && acked === 2 ? parsed : undefined;
    }, 'the workload to be acked and dead-lettered');
    const { text } = await f.call('/metrics');
    const families = parsePrometheusTextFormat(text);

    expect(handled.sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b2']);
    const pub = { stream: 'default' };
    expect(sample(families, 'courier_published_messages_total', { ...pub, subject: 'shop.a' })).toBe(5);
    expect(sample(families, 'courier_published_messages_total', { ...pub, subject: 'shop.b' })).toBe(3);
    expect(sample(families, 'courier_published_bytes_total', { ...pub, subject: 'shop.a' })).toBe(bytes(a));
    expect(sample(families, 'courier_published_bytes_total', { ...pub, subject: 'shop.b' })).toBe(bytes(b));
    const billing = (subject: string): Record<string, string> => ({ group: 'billing', subject });
    expect(sample(families, 'courier_delivered_messages_total', billing('shop.a'))).toBe(5);
    // The poison message is delivered twice (attempts: 2), so shop.b has 3 + 1 deliveries.
    expect(sample(families, 'courier_delivered_messages_total', billing('shop.b'))).toBe(4);
    expect(sample(families, 'courier_redelivered_messages_total', billing('shop.a'))).toBe(0);
    expect(sample(families, 'courier_redelivered_messages_total', billing('shop.b'))).toBe(1);
    expect(sample(families, 'courier_acked_messages_total', billing('shop.a'))).toBe(5);
    expect(sample(families, 'courier_dead_letters_total', billing('shop.a'))).toBe(0);
    // The parser folds a labelled histogram's series into one (only billing has any here): read its +Inf
    // bucket, and the count line from the text.
    for (const name of ['courier_ack_latency_seconds', 'courier_publish_to_ack_seconds']) {
      expect(histogramTotal(families, name)).toBe(7);
      expect(text).toContain(`${name}_count{group="billing"} 7`);
    }
    const group = { group: 'billing', pattern: 'shop.*', stream: 'default' };
    expect(sample(families, 'courier_group_pending', group)).toBe(0);
    expect(sample(families, 'courier_group_outstanding', group)).toBe(0);
    expect(sample(families, 'courier_group_members', { group: 'billing', pattern: 'shop.*' })).toBe(1);
    expect(sample(families, 'courier_stream_messages', { stream: 'default' })).toBe(8);
    expect(sample(families, 'courier_stream_bytes', { stream: 'default' })).toBeGreaterThan(
      bytes([...a, ...b]),
    );
    expect(sample(families, 'courier_connections')).toBe(1);
    expect(sample(families, 'courier_service_instances', { service: 'metrics-test' })).toBe(1);
    expect(sample(families, 'courier_subject_subscribers', { subject: 'shop.a' })).toBe(1);
    expect(sample(families, 'courier_disk_size_bytes')).toBeGreaterThan(0);
    // Process metrics come from the broker's own registry.
    expect(sample(families, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
  });

  it('shows lag while a group cannot keep up, and zero once it has consumed', async () => {
    fixture = await startFixture();
    const f = fixture;
    const bus = await f.bus('lag-test');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const done: number[] = [];
    await bus.subscribe<number>(
      'jobs.run',
      async (n) => {
        await gate;
        done.push(n);
      },
      { group: 'workers', concurrency: 1 },
    ).ready;
    for (let n = 0; n < 10; n++) await bus.publish('jobs.run', n);
    const group = { group: 'workers', pattern: 'jobs.run', stream: 'default' };
    // One message is in the handler; nine wait.
    await eventually(async () => {
      const parsed = await scrape(f);
      return sample(parsed, 'courier_group_pending', group) === 9 &&
        sample(parsed, 'courier_group_outstanding', group) === 1
        ? true
        : undefined;
    }, 'pending 9 and outstanding 1');
    release();
    await eventually(async () => {
      const parsed = await scrape(f);
      return sample(parsed, 'courier_group_pending', group) === 0 &&
        sample(parsed, 'courier_acked_messages_total', { group: 'workers', subject: 'jobs.run' }) === 10
        ? true
        : undefined;
    }, 'the group to consume everything');
    expect(done).toHaveLength(10);
  });

  it('caps distinct subject labels: subjects past the limit count as _other', async () => {
    fixture = await startFixture({ subjectLimit: 2 });
    const bus = await fixture.bus('cap-test');
    await bus.publish('cap.one', 1);
    await bus.publish('cap.two', 2);
    await bus.publish('cap.three', 3);
    await bus.publish('cap.four', 4);
    await bus.publish('cap.one', 5);
    const families = await scrape(fixture);
    const count = (subject: string): number | undefined =>
      sample(families, 'courier_published_messages_total', { stream: 'default', subject });
    expect(count('cap.one')).toBe(2);
    expect(count('cap.two')).toBe(1);
    expect(count('cap.three')).toBeUndefined();
    expect(count('_other')).toBe(2);
  });

  it('needs a token when the broker has tokens', async () => {
    fixture = await startFixture({ tokens: ['secret'] });
    const missing = await fixture.call('/metrics');
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect((await fixture.call('/metrics', { token: 'wrong' })).status).toBe(401);
    const families = await scrape(fixture, 'secret');
    expect(sample(families, 'courier_connections')).toBe(0);
  });
});
