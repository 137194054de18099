import { createRequire } from 'node:module';
import { register as globalRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { connect } from '../connect.js';
import { CourierError } from '../errors.js';

interface Sample {
  value: string;
  labels?: Record<string, string>;
}
interface Family {
  name: string;
  type: string;
  metrics: Sample[];
}
// The parser ships without types; this is its documented shape (prom2json's).
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => Family[];

/**
 * Parses the registry's text exposition. This parser flattens a histogram
 * into one sample and loses its labels, so histograms are read untyped:
 * their `_bucket`, `_sum` and `_count` series then come out as families of
 * their own, with their labels.
 */
async function scrape(registry: Registry): Promise<Family[]> {
  const text = await registry.metrics();
  return parsePrometheus(text.replace(/^(# TYPE \S+) histogram$/gm, '$1 untyped'));
}

function matches(sample: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([name, value]) => sample.labels?.[name] === value);
}

/** The sum of the samples of a family that carry `labels`; 0 when there are none. */
function sampleValue(families: Family[], name: string, labels: Record<string, string> = {}): number {
  // Untyped series of one name may come out as several families, one per label set.
  const found = families
    .filter((f) => f.name === name)
    .flatMap((f) => f.metrics)
    .filter((sample) => matches(sample, labels));
  return found.reduce((sum, sample) => sum + Number(sample.value), 0);
}

function seriesOf(families: Family[], name: string): Array<Record<string, string>> {
  return families.find((f) => f.name === name)?.metrics.map((sample) => sample.labels ?? {}) ?? [];
}

const bytes = (data: unknown): number => Buffer.byteLength(JSON.stringify(data));

describe('client metrics', () => {
  it('count what a known workload did: publishes, handler outcomes, requests and answers', async () => {
    const registry = new Registry();
    await using bus = await connect('memory://', { service: 'shop', metrics: registry });
    const failures = new Map<string, number>();
    bus.subscribe<{ id: string }>(
      'orders.created',
      ({ id }, ctx) => {
        // o-2 fails once, o-3 every time (two attempts, then the dead-letter queue).
        if ((id === 'o-2' && ctx.attempt === 1) || id === 'o-3') {
          failures.set(id, (failures.get(id) ?? 0) + 1);
          throw new Error(`cannot bill ${id}`);
        }
      },
      { group: 'billing', retry: { attempts: 2, backoff: 'fixed', delay: '1ms' } },
    );
    bus.handle('inventory.reserve', ({ sku }: { sku: string }) => ({ ok: sku !== '' }));
    bus.handle('inventory.fail', () => {
      throw new Error('out of stock');
    });
    const orders = [{ id: 'o-1' }, { id: 'o-2' }, { id: 'o-3' }];
    for (const order of orders) await bus.publish('orders.created', order);
    await expect(bus.publish('orders.created', { blob: 'x'.repeat(2 * 1024 * 1024) })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await bus.request('inventory.reserve', { sku: 'A' });
    await bus.request('inventory.reserve', { sku: 'B' });
    await expect(bus.request('inventory.fail', {})).rejects.toMatchObject({ code: 'HANDLER_ERROR' });
    await expect(bus.request('nobody.home', {})).rejects.toMatchObject({ code: 'NO_RESPONDERS' });
    await expect.poll(async () => (await bus.deadLetters.list('billing')).length).toBe(1);

    const m = await scrape(registry);
    const billing = { group: 'billing', subject: 'orders.created' };
    expect(
      sampleValue(m, 'courier_client_published_messages_total', { subject: 'orders.created', outcome: 'ok' }),
    ).toBe(3);
    expect(
      sampleValue(m, 'courier_client_published_messages_total', {
        subject: 'orders.created',
        outcome: 'payload_too_large',
      }),
    ).toBe(1);
    expect(sampleValue(m, 'courier_client_published_bytes_total', { subject: 'orders.created' })).toBe(
      orders.reduce((sum, order) => sum + bytes(order), 0),
    );
    expect(sampleValue(m, 'courier_client_handled_messages_total', { ...billing, outcome: 'ack' })).toBe(2);
    expect(sampleValue(m, 'courier_client_handled_messages_total', { ...billing, outcome: 'retry' })).toBe(2);
    expect(
      sampleValue(m, 'courier_client_handled_messages_total', { ...billing, outcome: 'dead_letter' }),
    ).toBe(1);
    expect(sampleValue(m, 'courier_client_handler_duration_seconds_count', billing)).toBe(5);
    expect(sampleValue(m, 'courier_client_publish_to_handler_seconds_count', billing)).toBe(3);
    expect(sampleValue(m, 'courier_client_in_flight', { group: 'billing' })).toBe(0);
    const reserve = { subject: 'inventory.reserve' };
    expect(sampleValue(m, 'courier_client_requests_total', { ...reserve, outcome: 'ok' })).toBe(2);
    expect(
      sampleValue(m, 'courier_client_requests_total', {
        subject: 'inventory.fail',
        outcome: 'handler_error',
      }),
    ).toBe(1);
    expect(
      sampleValue(m, 'courier_client_requests_total', { subject: 'nobody.home', outcome: 'no_responders' }),
    ).toBe(1);
    expect(sampleValue(m, 'courier_client_request_duration_seconds_count')).toBe(4);
    expect(sampleValue(m, 'courier_client_served_requests_total', { ...reserve, outcome: 'ok' })).toBe(2);
    expect(
      sampleValue(m, 'courier_client_served_requests_total', {
        subject: 'inventory.fail',
        outcome: 'handler_error',
      }),
    ).toBe(1);
    expect(failures).toEqual(
      new Map([
        ['o-2', 1],
        ['o-3', 2],
      ]),
    );
  });

  it('counts a handler in flight while it runs, under _private for a subscription without a group', async () => {
    const registry = new Registry();
    await using bus = await connect('memory://', { metrics: registry });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    const sub = bus.subscribe('jobs.run', async () => {
      started = true;
      await gate;
    });
    await sub.ready;
    await bus.publish('jobs.run', 1);
    await expect.poll(() => started).toBe(true);
    expect(sampleValue(await scrape(registry), 'courier_client_in_flight', { group: '_private' })).toBe(1);
    release();
    await expect
      .poll(async () =>
        sampleValue(await scrape(registry), 'courier_client_handled_messages_total', {
          group: '_private',
          outcome: 'ack',
        }),
      )
      .toBe(1);
    expect(sampleValue(await scrape(registry), 'courier_client_in_flight', { group: '_private' })).toBe(0);
  });

  it('shares one set of metrics between buses on one registry', async () => {
    const registry = new Registry();
    await using first = await connect('memory://', { metrics: registry });
    await using second = await connect('memory://', { metrics: registry });
    await first.publish('a.b', 1);
    await second.publish('a.b', 2);
    expect(
      sampleValue(await scrape(registry), 'courier_client_published_messages_total', { subject: 'a.b' }),
    ).toBe(2);
  });

  it('caps the subject label: subjects past maxSubjects count as _other', async () => {
    const registry = new Registry();
    await using bus = await connect('memory://', { metrics: { registry, maxSubjects: 2 } });
    for (const subject of ['t.1', 't.2', 't.3', 't.4', 't.1']) await bus.publish(subject, 0);
    const m = await scrape(registry);
    expect(seriesOf(m, 'courier_client_published_messages_total').map((l) => l['subject'])).toEqual([
      't.1',
      't.2',
      '_other',
    ]);
    expect(sampleValue(m, 'courier_client_published_messages_total', { subject: 't.1' })).toBe(2);
    expect(sampleValue(m, 'courier_client_published_messages_total', { subject: '_other' })).toBe(2);
  });

  it('registers nothing anywhere without a registry, and never in the global default one', async () => {
    await using bus = await connect('memory://');
    await using measured = await connect('memory://', { metrics: new Registry() });
    await bus.publish('a.b', 1);
    await measured.publish('a.b', 1);
    expect(
      (await globalRegistry.getMetricsAsJSON()).filter((metric) => metric.name.startsWith('courier_')),
    ).toEqual([]);
  });

  it('refuses a metrics option that is not a registry, saying what to pass', async () => {
    const error = await connect('memory://', { metrics: {} as Registry }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CourierError);
    expect(error).toMatchObject({ code: 'INVALID_OPTION' });
    expect((error as Error).message).toMatch(
      /metrics must be a prom-client Registry .*pass new Registry\(\)/,
    );
    await expect(
      connect('memory://', { metrics: { registry: new Registry(), maxSubjects: 0 } }),
    ).rejects.toThrow(/maxSubjects must be a whole number of at least 1, got 0/);
  });
});
