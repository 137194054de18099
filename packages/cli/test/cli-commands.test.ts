/**
 * Every `courier` command against a real broker started here: what a person
 * at a shell sees (tables, text) and what a script sees (`--json`).
 */
import { type Bus, CourierError, connect } from '@courier/core';
import { Collector, deferred, eventually } from '@courier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { courier, type Outcome, type TestBroker, testBroker } from './cli-harness.js';

let broker: TestBroker;
let service: Bus;

beforeAll(async () => {
  broker = await testBroker();
  service = await connect(broker.url, { service: 'inventory', onError: () => undefined });
});

afterAll(async () => {
  await service.close({ timeout: 0 });
  await broker.close();
});

/** Starts `courier sub ...` and resolves once it is listening; `done` is its outcome. */
async function subscribe(argv: string[], signal?: AbortSignal): Promise<{ done: Promise<Outcome> }> {
  const listening = deferred();
  const done = courier(['sub', ...argv, ...broker.bus], {
    ...(signal ? { signal } : {}),
    onStderr: (text) => {
      if (text.includes('listening on')) listening.resolve();
    },
  });
  // A sub that fails before listening must fail the test, not hang it.
  await Promise.race([listening.promise, done.then((out) => Promise.reject(new Error(out.stderr)))]);
  return { done };
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('courier pub and sub', () => {
  it('sub prints what pub published, with the id pub printed', async () => {
    const sub = await subscribe(['greetings.*', '--count', '2', '--json']);
    const json = await courier([
      'pub',
      'greetings.en',
      '{"text":"hello"}',
      '--key',
      'k1',
      '--header',
      'lang=en',
      ...broker.bus,
    ]);
    expect(json.code).toBe(0);
    const text = await courier(['pub', 'greetings.fr'], {
      stdin: 'bonjour\n',
      env: { COURIER_URL: broker.url },
    });
    expect(text.code).toBe(0);
    const out = await sub.done;
    expect(out.code).toBe(0);
    const [first, second] = jsonLines(out.stdout);
    expect(first).toMatchObject({
      id: json.stdout.trim(),
      subject: 'greetings.en',
      key: 'k1',
      headers: { lang: 'en' },
      data: { text: 'hello' },
    });
    expect(second).toMatchObject({ id: text.stdout.trim(), subject: 'greetings.fr', data: 'bonjour' });
  });

  it('sub --group --all reads what was published before, and the group keeps its place', async () => {
    const pub = await courier(['pub', 'audit.events', '{"n":1}', '--count', '3', '--json', ...broker.bus]);
    expect(pub.code).toBe(0);
    const published = JSON.parse(pub.stdout) as { count: number; ids: string[] };
    expect(published.ids).toHaveLength(3);
    const first = await courier([
      'sub',
      'audit.events',
      '--group',
      'auditors',
      '--all',
      '--count',
      '3',
      ...broker.bus,
    ]);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n')).toEqual([
      'audit.events  {"n":1}',
      'audit.events  {"n":1}',
      'audit.events  {"n":1}',
    ]);
    // All three were acked: the group has nothing left, so a --count that cannot be met fails after --timeout.
    const again = await courier([
      'sub',
      'audit.events',
      '--group',
      'auditors',
      '--count',
      '1',
      '--timeout',
      '300ms',
      ...broker.bus,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('got 0 of 1 messages on audit.events');
  });

  it('sub stops on Ctrl-C (the abort signal) with exit 0', async () => {
    const stop = new AbortController();
    const sub = await subscribe(['quiet.subject'], stop.signal);
    stop.abort();
    const out = await sub.done;
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('');
  });
});

describe('courier req', () => {
  beforeAll(async () => {
    const handler = service.handle('inventory.reserve', async (request: { sku: string; qty: number }) => ({
      ok: request.qty <= 5,
      sku: request.sku,
    }));
    await handler.ready;
    const stuck = service.handle('inventory.slow', () => new Promise(() => undefined));
    await stuck.ready;
    const failing = service.handle('inventory.broken', () => {
      throw new CourierError('INVALID_OPTION', 'qty must be positive');
    });
    await failing.ready;
  });

  it('prints the reply of a bus handler', async () => {
    const json = await courier([
      'req',
      'inventory.reserve',
      '{"sku":"A-1","qty":2}',
      '--json',
      ...broker.bus,
    ]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, sku: 'A-1' });
    const text = await courier(['req', 'inventory.reserve', '--timeout', '3s', ...broker.bus], {
      stdin: '{"sku":"B","qty":9}',
    });
    expect(text.code).toBe(0);
    expect(JSON.parse(text.stdout)).toEqual({ ok: false, sku: 'B' });
  });

  it('says when no service handles the subject (exit 1)', async () => {
    const out = await courier(['req', 'nobody.home', '{}', ...broker.bus]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('no service handles nobody.home');
    expect(out.stderr).toContain('[NO_RESPONDERS]');
  });

  it('says when the reply does not come in time (exit 1)', async () => {
    const out = await courier(['req', 'inventory.slow', '{}', '--timeout', '200ms', ...broker.bus]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('no reply on inventory.slow within 200 ms');
    expect(out.stderr).toContain('--timeout');
  });

  it("prints the handler's error code and message (exit 1)", async () => {
    const out = await courier(['req', 'inventory.broken', '{"qty":-1}', ...broker.bus]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('qty must be positive');
  });
});

describe('courier streams, groups and services', () => {
  beforeAll(async () => {
    const sub = service.subscribe('stock.changed', () => undefined, { group: 'stock-watchers' });
    await sub.ready;
    await service.publish('stock.changed', { sku: 'A-1' });
  });

  it('streams lists the stream with its message count', async () => {
    const json = await courier(['streams', '--json', ...broker.adminFlags]);
    expect(json.code).toBe(0);
    const streams = JSON.parse(json.stdout) as { name: string; messages: number }[];
    expect(streams.length).toBeGreaterThan(0);
    const total = streams.reduce((sum, s) => sum + s.messages, 0);
    expect(total).toBeGreaterThanOrEqual(1);
    const table = await courier(['streams', ...broker.adminFlags]);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^NAME\s+SUBJECTS\s+MESSAGES\s+BYTES/);
    expect(rows.length).toBe(streams.length);
    expect(rows.some((row) => row.startsWith(streams[0]?.name ?? '?'))).toBe(true);
  });

  it('groups lists the durable group with its subject and members', async () => {
    const json = await courier(['groups', '--json', ...broker.adminFlags]);
    expect(json.code).toBe(0);
    const groups = JSON.parse(json.stdout) as { group: string; subject: string; members: number }[];
    expect(groups).toContainEqual(
      expect.objectContaining({ group: 'stock-watchers', subject: 'stock.changed', members: 1 }),
    );
    const table = await courier(['groups', ...broker.adminFlags]);
    expect(table.stdout).toMatch(/^GROUP\s+SUBJECT\s+DURABLE\s+MEMBERS/);
    expect(table.stdout).toMatch(/stock-watchers\s+stock\.changed\s+yes\s+1/);
  });

  it('services lists the connected service with its handlers and the subjects it calls', async () => {
    expect(await service.request('inventory.reserve', { sku: 'A-1', qty: 1 })).toMatchObject({ ok: true });
    const json = await courier(['services', '--json', ...broker.adminFlags]);
    expect(json.code).toBe(0);
    const services = JSON.parse(json.stdout) as { service: string; handlers: string[]; requests: string[] }[];
    const inventory = services.find((s) => s.service === 'inventory');
    expect(inventory?.handlers).toContain('inventory.reserve');
    expect(inventory?.requests).toEqual(['inventory.reserve']);
    const table = await courier(['services', ...broker.adminFlags], {
      env: { COURIER_ADMIN_URL: 'http://unused' },
    });
    expect(table.stdout).toMatch(/^SERVICE\s+INSTANCE.*HANDLERS\s+SUBSCRIPTIONS\s+REQUESTS/);
    expect(table.stdout).toContain('inventory');
    expect(table.stdout).toContain('inventory.reserve');
  });

  it('reads the admin URL from COURIER_ADMIN_URL', async () => {
    const out = await courier(['services', '--json'], { env: { COURIER_ADMIN_URL: broker.adminUrl } });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toContainEqual(expect.objectContaining({ service: 'inventory' }));
  });
});

describe('courier dlq', () => {
  const handled = new Collector<string>();
  let failing = true;

  beforeAll(async () => {
    const billing = service.subscribe(
      'orders.created',
      (order: { id: string }) => {
        if (failing) throw new CourierError('INVALID_MESSAGE', `card declined for ${order.id}`);
        handled.push(order.id);
      },
      { group: 'billing', retry: { attempts: 1 } },
    );
    await billing.ready;
  });

  /** Publishes through the CLI and waits until the message is in billing's dead letters. */
  async function deadLetter(orderId: string): Promise<string> {
    const pub = await courier(['pub', 'orders.created', JSON.stringify({ id: orderId }), ...broker.bus]);
    expect(pub.code).toBe(0);
    const id = pub.stdout.trim();
    await eventually(
      async () =>
        (await service.deadLetters.list('billing')).some((entry) => entry.id === id) ? true : undefined,
      `${id} in billing's dead letters`,
    );
    return id;
  }

  it('list, show, replay: the replayed message is handled and leaves the queue', async () => {
    const id = await deadLetter('o-1');
    const list = await courier(['dlq', 'list', '--group', 'billing', ...broker.bus]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+SUBJECT\s+ATTEMPTS\s+AGE\s+ERROR\s+DATA/);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain('INVALID_MESSAGE: card declined for o-1');

    const json = await courier(['dlq', 'list', '--group', 'billing', '--json', ...broker.bus]);
    const entries = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(entries).toContainEqual(
      expect.objectContaining({
        id,
        group: 'billing',
        subject: 'orders.created',
        attempts: 1,
        error: { code: 'INVALID_MESSAGE', message: 'card declined for o-1' },
        data: { id: 'o-1' },
      }),
    );

    const show = await courier(['dlq', 'show', '--group', 'billing', id, ...broker.bus]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`id:           ${id}`);
    expect(show.stdout).toContain('error:        INVALID_MESSAGE: card declined for o-1');
    expect(show.stdout).toContain('"id": "o-1"');

    failing = false;
    const replay = await courier(['dlq', 'replay', '--group', 'billing', id, ...broker.bus]);
    expect(replay.code).toBe(0);
    expect(replay.stdout.trim()).toBe('replayed 1 dead letter to group billing');
    await handled.until((ids) => ids.includes('o-1'), 10_000, 'the replayed order');
    const after = await courier(['dlq', 'list', '--group', 'billing', ...broker.bus]);
    expect(after.stdout).not.toContain(id);
  });

  it('purge asks for --yes when it cannot ask, then deletes', async () => {
    failing = true;
    const id = await deadLetter('o-2');
    const refused = await courier(['dlq', 'purge', '--group', 'billing', ...broker.bus]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('delete 1 dead letter of group billing for good? Add --yes');
    expect((await service.deadLetters.list('billing')).map((e) => e.id)).toContain(id);

    const purged = await courier(['dlq', 'purge', '--group', 'billing', '--yes', '--json', ...broker.bus]);
    expect(purged.code).toBe(0);
    expect(JSON.parse(purged.stdout)).toEqual({ group: 'billing', purged: 1 });
    const empty = await courier(['dlq', 'list', '--group', 'billing', ...broker.bus]);
    expect(empty.stdout.trim()).toBe('no dead letters in group billing');
  });
});

describe('courier bench', () => {
  it('prints publish and consume figures for a small run', async () => {
    const json = await courier([
      'bench',
      '--count',
      '300',
      '--size',
      '64',
      '--inflight',
      '50',
      '--json',
      ...broker.bus,
    ]);
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout) as {
      size: number;
      phases: {
        phase: string;
        messages: number;
        msgsPerSec: number;
        mbPerSec: number;
        p50Ms?: number;
        p99Ms?: number;
      }[];
    };
    expect(result.size).toBe(64);
    const [publish, consume] = result.phases;
    expect(publish).toMatchObject({ phase: 'publish', messages: 300 });
    expect(publish?.msgsPerSec).toBeGreaterThan(0);
    expect(publish?.p99Ms).toBeGreaterThanOrEqual(publish?.p50Ms ?? Number.POSITIVE_INFINITY);
    expect(consume).toMatchObject({ phase: 'consume', messages: 300 });
    expect(consume?.mbPerSec).toBeGreaterThan(0);

    const table = await courier(['bench', '--count', '100', '--size', '16', ...broker.bus]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^PHASE\s+MESSAGES\s+SECONDS\s+MSGS\/S\s+MB\/S\s+P50 MS\s+P99 MS/);
    expect(table.stdout).toMatch(/\npublish\s+100\s/);
    expect(table.stdout).toMatch(/\nconsume\s+100\s/);
  });
});
