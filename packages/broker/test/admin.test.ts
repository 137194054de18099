/**
 * The broker's HTTP admin API as a dashboard or script uses it, against a
 * real broker with tokens: every endpoint's answer, 401s for missing, wrong
 * and insufficient tokens, 400s and 404s for bad input, dead-letter replay
 * and discard, and health endpoints without a token.
 */
import { Collector } from '@courier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Fixture, startFixture } from './admin-fixture.js';

let f: Fixture;
const ADMIN = 'admin-token';
const ORDERS = 'orders-token';

beforeAll(async () => {
  f = await startFixture({
    tokens: [ADMIN, { token: ORDERS, publish: ['orders.>'], subscribe: ['orders.>'] }],
  });
});
afterAll(async () => {
  await f.close();
});

type Json = Record<string, unknown>;
/** A GET with `token` (null: none). */
const get = async (
  path: string,
  token: string | null = ADMIN,
): Promise<{ status: number; body: Json & Json[] }> => {
  const r = await f.call(path, token ? { token } : {});
  return { status: r.status, body: r.body as Json & Json[] };
};
const post = async (path: string, body: unknown, token = ADMIN): Promise<{ status: number; body: Json }> => {
  const r = await f.call(path, { token, body });
  return { status: r.status, body: r.body as Json };
};
const errorCode = (body: unknown): unknown => (body as { error?: { code?: unknown } }).error?.code;

describe('admin API: auth and health', () => {
  it('serves /healthz and /readyz without a token', async () => {
    expect(await get('/healthz', null)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz', null)).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('answers 401 UNAUTHORIZED without a token, with an unknown token, or a malformed header', async () => {
    const none = await get('/api/overview', null);
    expect(none.status).toBe(401);
    expect(errorCode(none.body)).toBe('UNAUTHORIZED');
    expect((none.body.error as Json).message).toMatch(/Authorization: Bearer/);
    const wrong = await get('/api/streams', 'nope');
    expect(wrong.status).toBe(401);
    expect((wrong.body.error as Json).message).toMatch(/not accepted/);
    const basic = await fetch(`${f.http}/api/groups`, { headers: { authorization: 'Basic abc' } });
    expect(basic.status).toBe(401);
  });

  it('answers 404 NOT_FOUND for unknown endpoints and wrong methods, naming the real ones', async () => {
    const unknown = await get('/api/nothing');
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown.body)).toBe('NOT_FOUND');
    expect((unknown.body.error as Json).message).toContain('GET /api/overview');
    expect((await f.call('/api/overview', { token: ADMIN, method: 'POST', body: {} })).status).toBe(404);
    // Without a dashboard directory, other paths are not found either.
    expect((await get('/index.html', null)).status).toBe(404);
  });
});

describe('admin API: views', () => {
  let lookupBus: Awaited<ReturnType<Fixture['bus']>>;
  const handled = new Collector<string>();

  beforeAll(async () => {
    lookupBus = await f.bus('orders', ADMIN);
    await lookupBus.handle('orders.lookup', async () => ({ found: true })).ready;
    expect(await lookupBus.request('orders.lookup', { id: 'o-1' })).toEqual({ found: true });
    await lookupBus.subscribe<string>('orders.created', (d) => handled.push(d), { group: 'billing' }).ready;
    await lookupBus.publish('orders.created', 'o-1');
    await lookupBus.publish('orders.created', 'o-2');
    await lookupBus.publish('audit.raw', new Uint8Array([0xff, 0xfe, 0x00]), { codec: 'raw' });
    await handled.count(2, 5000);
  });

  it('GET /api/overview counts connections, streams, groups, services', async () => {
    const { status, body } = await get('/api/overview');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      connections: 1,
      streams: 1,
      groups: 1,
      services: 1,
      deadLetters: 0,
      alerts: { firing: 0 },
    });
    expect(body.version).toBe('0.0.0');
    expect(body.uptimeMs).toBeGreaterThanOrEqual(0);
  });

  it('GET /api/streams lists streams with sizes and totals since start', async () => {
    const { body } = await get('/api/streams');
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({
      name: 'default',
      subjects: ['>'],
      messages: 3,
      firstSeq: 1,
      lastSeq: 3,
      published: 3,
    });
    expect(body[0]?.publishedBytes).toBe(2 * Buffer.byteLength('"o-1"') + 3);
  });

  it('GET /api/streams/:name/messages pages by sequence, with text or base64 data', async () => {
    const first = await get('/api/streams/default/messages?limit=2');
    expect(first.status).toBe(200);
    const page = first.body as unknown as { messages: Json[]; next: number | null };
    expect(page.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(page.messages[0]).toMatchObject({
      subject: 'orders.created',
      data: '"o-1"',
      contentType: 'application/json',
      size: 5,
    });
    expect(page.next).toBe(3);
    const rest = (await get('/api/streams/default/messages?from=3')).body as unknown as {
      messages: Json[];
      next: number | null;
    };
    expect(rest.messages).toHaveLength(1);
    expect(rest.messages[0]).toMatchObject({
      seq: 3,
      subject: 'audit.raw',
      data: { base64: Buffer.from([0xff, 0xfe, 0]).toString('base64') },
    });
    expect(rest.next).toBeNull();
  });

  it('stream messages: bad input is 400, an unknown stream 404, a missing right 401', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'from=-1']) {
      const r = await get(`/api/streams/default/messages?${query}`);
      expect(r.status, query).toBe(400);
      expect(errorCode(r.body)).toBe('INVALID_OPTION');
    }
    const badSubject = await get('/api/streams/default/messages?subject=a..b');
    expect(badSubject.status).toBe(400);
    expect(errorCode(badSubject.body)).toBe('INVALID_SUBJECT');
    const missing = await get('/api/streams/nowhere/messages');
    expect(missing.status).toBe(404);
    expect(errorCode(missing.body)).toBe('NOT_FOUND');
    // The orders token may read orders.> only: the whole stream is refused, a filtered read is not.
    const all = await get('/api/streams/default/messages', ORDERS);
    expect(all.status).toBe(401);
    expect((all.body.error as Json).message).toMatch(/subscribe right for >/);
    const mine = await get('/api/streams/default/messages?subject=orders.>', ORDERS);
    expect(mine.status).toBe(200);
    expect((mine.body as unknown as { messages: Json[] }).messages.map((m) => m.subject)).toEqual([
      'orders.created',
      'orders.created',
    ]);
  });

  it('GET /api/groups shows lag, outstanding and counts', async () => {
    // The handler ran before its ack reached the broker and was stored: wait for the acks to count.
    const body = await eventually(async () => {
      const groups = (await get('/api/groups')).body;
      return groups[0]?.acked === 2 ? groups : undefined;
    }, 'both acks in /api/groups');
    expect(body).toEqual([
      {
        group: 'billing',
        subject: 'orders.created',
        stream: 'default',
        durable: true,
        members: 1,
        pending: 0,
        outstanding: 0,
        delivered: 2,
        acked: 2,
        redelivered: 0,
        deadLetters: 0,
      },
    ]);
  });

  it('GET /api/services lists live instances with handlers and subscriptions', async () => {
    const { body } = await get('/api/services');
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ service: 'orders', handlers: ['orders.lookup'] });
    expect(body[0]?.subscriptions).toEqual(['billing orders.created']);
    expect(body[0]?.requests).toEqual(['orders.lookup']);
  });

  it('GET /api/topology links services, subjects and groups', async () => {
    const { body } = await get('/api/topology');
    expect(body.services).toEqual([{ name: 'orders', instances: 1 }]);
    expect(body.subjects).toEqual(expect.arrayContaining(['orders.created', 'orders.lookup', 'audit.raw']));
    expect(body.groups).toEqual([{ group: 'billing', subject: 'orders.created' }]);
    expect(body.edges).toEqual(
      expect.arrayContaining([
        { from: 'orders', to: 'orders.lookup', kind: 'handles' },
        { from: 'orders', to: 'orders.lookup', kind: 'requests' },
        { from: 'orders', to: 'orders.created', kind: 'subscribes', group: 'billing' },
        { from: 'orders', to: 'orders.created', kind: 'publishes' },
      ]),
    );
  });

  it('GET /api/alerts is empty when the broker has no alert rules', async () => {
    expect(await get('/api/alerts')).toEqual({ status: 200, body: [] });
  });
});

describe('admin API: dead letters', () => {
  it('lists, replays and discards dead letters, with rights checked per group pattern', async () => {
    const bus = await f.bus('shipping', ADMIN);
    let failing = true;
    const shipped = new Collector<string>();
    await bus.subscribe<string>(
      'orders.paid',
      (d) => {
        if (failing) throw new Error(`carrier refused ${d}`);
        shipped.push(d);
      },
      { group: 'shipping', retry: { attempts: 1 } },
    ).ready;
    const audit = await f.bus('audit', ADMIN);
    await audit.subscribe(
      'audit.>',
      () => {
        throw new Error('audit down');
      },
      { group: 'audit', retry: { attempts: 1 } },
    ).ready;
    await bus.publish('orders.paid', 'p-1');
    await bus.publish('orders.paid', 'p-2');
    await bus.publish('audit.event', 'a-1');
    const listed = await eventually(async () => {
      const { body } = await get('/api/dead-letters');
      return body.length === 3 ? body : undefined;
    }, 'three dead letters');
    const shippingList = listed.filter((d) => d.group === 'shipping');
    expect(shippingList.map((d) => d.data)).toEqual(['"p-1"', '"p-2"']);
    expect(shippingList[0]).toMatchObject({
      pattern: 'orders.paid',
      subject: 'orders.paid',
      attempts: 1,
      size: 5,
      error: { message: expect.stringContaining('carrier refused p-1') },
    });
    expect((await get('/api/overview')).body.deadLetters).toBe(3);

    // The orders token sees only what it may subscribe to, and is refused the audit group.
    const visible = await get('/api/dead-letters', ORDERS);
    expect(visible.body.map((d) => d.group)).toEqual(['shipping', 'shipping']);
    expect((await get('/api/dead-letters?group=audit', ORDERS)).status).toBe(401);
    expect((await get('/api/dead-letters?group=shipping&limit=1')).body).toHaveLength(1);
    expect((await get('/api/dead-letters?limit=0')).status).toBe(400);
    expect((await post('/api/dead-letters/discard', { group: 'audit' }, ORDERS)).status).toBe(401);

    // Bad bodies.
    const notJson = await f.call('/api/dead-letters/replay', { token: ADMIN, rawBody: '{oops' });
    expect(notJson.status).toBe(400);
    expect(errorCode(notJson.body)).toBe('INVALID_OPTION');
    expect((await post('/api/dead-letters/replay', { ids: ['x'] })).status).toBe(400);
    expect((await post('/api/dead-letters/replay', { group: 'shipping', ids: 'all' })).status).toBe(400);
    expect((await post('/api/dead-letters/replay', [1, 2])).status).toBe(400);
    const unknownId = await post('/api/dead-letters/replay', { group: 'shipping', ids: ['no-such-id'] });
    expect(unknownId.status).toBe(404);
    expect(errorCode(unknownId.body)).toBe('NOT_FOUND');
    expect((unknownId.body.error as Json).message).toContain('no-such-id');

    // Replay one by id: the healthy handler gets it; discard the rest.
    failing = false;
    const first = shippingList[0]?.id as string;
    expect(await post('/api/dead-letters/replay', { group: 'shipping', ids: [first] }, ORDERS)).toEqual({
      status: 200,
      body: { replayed: 1 },
    });
    expect(await shipped.count(1, 5000)).toEqual(['p-1']);
    expect(await post('/api/dead-letters/discard', { group: 'shipping' })).toEqual({
      status: 200,
      body: { discarded: 1 },
    });
    expect((await get('/api/dead-letters?group=shipping')).body).toEqual([]);
    expect(await post('/api/dead-letters/discard', { group: 'audit' })).toEqual({
      status: 200,
      body: { discarded: 1 },
    });
    expect(shipped.items).toEqual(['p-1']);
  });
});
