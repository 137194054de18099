/**
 * The broker server against hostile or greedy clients: bad bytes, missing
 * rights, and a publisher that never stops beside a consumer that never acks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bus, connect } from '@courier/core';
import { Collector } from '@courier/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerServer, courierTransport, covers, startBroker } from '../src/index.js';
import { writeFrame } from '../src/protocol/frame-codec.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frame-types.js';
import { WireWriter } from '../src/protocol/wire-writer.js';

let dir: string;
let broker: BrokerServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'courier-server-'));
  broker = await startBroker({
    dir,
    port: 0,
    maxUnconfirmed: 1000,
    maxUnconfirmedBytes: 512 * 1024,
    tokens: ['admin', { token: 'orders-only', publish: ['orders.>'], subscribe: ['orders.*'] }],
  });
});

afterAll(async () => {
  await broker.close();
  await rm(dir, { recursive: true, force: true });
});

const busFor = (token: string): Promise<Bus> =>
  courierTransport({ port: broker.port, token }).then((t) =>
    connect(t, { service: 'server-test', onError: () => undefined }),
  );

/**
 * Sends raw bytes on a new connection; resolves when the broker closes it, when what it sent
 * satisfies `enough`, or after `ms`.
 */
function rawSession(
  bytes: Buffer,
  ms = 10_000,
  enough?: (text: string) => boolean,
): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket: Socket = tcpConnect({ port: broker.port, host: '127.0.0.1' }, () => socket.write(bytes));
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ closed, received: Buffer.concat(chunks) });
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (enough?.(Buffer.concat(chunks).toString('latin1'))) done(false);
    });
    socket.on('close', () => done(true));
    socket.on('error', () => undefined);
  });
}

function hello(token: string): Buffer {
  const w = new WireWriter();
  writeFrame(w, {
    type: FrameType.HELLO,
    minVersion: PROTOCOL_VERSION.min,
    maxVersion: PROTOCOL_VERSION.max,
    token,
    service: 's',
    instance: 'i',
    client: 'raw',
    version: '',
  });
  return Buffer.from(w.take());
}

describe('broker server', () => {
  it('survives random bytes and mutated frames: the connection gets an error or is closed, others and stored data are untouched', async () => {
    const bystander = await busFor('admin');
    const kept = new Collector<unknown>();
    await bystander.subscribe('fuzz.kept', (d) => kept.push(d), { group: 'keep' }).ready;
    await bystander.publish('fuzz.kept', 'before');
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.boolean(),
        async (bytes, afterHello) => {
          const payload = afterHello
            ? Buffer.concat([hello('admin'), Buffer.from(bytes)])
            : Buffer.from(bytes);
          await rawSession(payload, 200);
        },
      ),
      { numRuns: 60 },
    );
    const oversized = Buffer.alloc(5);
    oversized.writeUInt32BE(0xfffffff0, 0);
    const { closed, received } = await rawSession(Buffer.concat([hello('admin'), oversized]));
    expect(closed).toBe(true);
    expect(received.toString('latin1')).toContain('PROTOCOL_ERROR');
    await bystander.publish('fuzz.kept', 'after');
    await kept.count(2, 5000);
    expect(kept.items).toEqual(['before', 'after']);
    await bystander.close();
  });

  it('refuses a wrong or missing token, and rights the token lacks, with UNAUTHORIZED naming the right and the subject', async () => {
    await expect(courierTransport({ port: broker.port, token: 'wrong' })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringContaining('the token is not accepted'),
    });
    await expect(courierTransport({ port: broker.port })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringContaining('no token was given'),
    });
    const limited = await busFor('orders-only');
    await expect(limited.publish('orders.created', 1)).resolves.toHaveProperty('id');
    await expect(limited.publish('payments.charged', 1)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringMatching(/lacks the publish right for payments\.charged.*"orders\.>"/),
      data: { subject: 'payments.charged', right: 'publish' },
    });
    await expect(
      limited.subscribe('payments.*', () => undefined, { group: 'g' }).ready,
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringContaining('lacks the subscribe right for payments.*'),
    });
    await expect(limited.subscribe('orders.>', () => undefined, { group: 'g' }).ready).rejects.toThrow(
      /lacks the subscribe right for orders\.>, so it may not subscribe to it/,
    );
    await expect(
      limited.subscribe('orders.created', () => undefined, { group: 'g' }).ready,
    ).resolves.toBeUndefined();
    await expect(limited.request('payments.refund', 1)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringContaining('lacks the publish right for payments.refund'),
    });
    await expect(limited.handle('payments.refund', () => 1).ready).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringContaining('lacks the subscribe right for payments.refund'),
    });
    await limited.close();
  });

  it('refuses a version 1 client with the versions each side speaks, not a decode error', async () => {
    const str = (text: string, width: 2 | 4): Buffer => {
      const bytes = Buffer.from(text);
      const length = Buffer.alloc(width);
      if (width === 2) length.writeUInt16BE(bytes.length);
      else length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    };
    // Version 1's HELLO: versions, token, service, instance, client (no service version).
    const body = Buffer.concat([
      Buffer.from([FrameType.HELLO, 0, 1, 0, 1]),
      str('admin', 4),
      str('s', 2),
      str('i', 2),
      str('old-client', 2),
    ]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    const { closed, received } = await rawSession(Buffer.concat([length, body]));
    expect(closed).toBe(true);
    expect(received.toString('latin1')).toContain(
      `client speaks protocol 1..1, this broker ${PROTOCOL_VERSION.min}..${PROTOCOL_VERSION.max}`,
    );
  });

  it('judges subscribe rights by pattern containment', () => {
    expect(covers('orders.>', 'orders.*')).toBe(true);
    expect(covers('orders.*', 'orders.>')).toBe(false);
    expect(covers('orders.*', 'orders.created')).toBe(true);
    expect(covers('orders.created', 'orders.*')).toBe(false);
    expect(covers('>', 'a.b.c')).toBe(true);
    expect(covers('orders.>', 'orders')).toBe(false);
  });

  it('slows a publisher that outruns a consumer that never acks: the bytes the broker buffers stay bounded, and nothing fails', async () => {
    const consumer = await busFor('admin');
    let received = 0;
    await consumer.subscribe(
      'flood.x',
      () => {
        received++;
        return new Promise(() => undefined); // never acks
      },
      { group: 'stuck', concurrency: 10 },
    ).ready;
    const publisher = await busFor('admin');
    const pausesBefore = broker.stats().pauses;
    const payload = new Uint8Array(1024);
    let confirmed = 0;
    let failed = 0;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20_000; i++) {
      sends.push(
        publisher.publish('flood.x', payload).then(
          () => confirmed++,
          () => failed++,
        ),
      );
    }
    await Promise.all(sends);
    expect(failed).toBe(0);
    expect(confirmed).toBe(20_000);
    // Credit bounds what the stuck consumer was handed, whatever was published.
    expect(received).toBe(10);
    const stats = await broker.engine.stats();
    const stuck = stats.groups.find((g) => g.group === 'stuck');
    expect(stuck?.outstanding).toBeLessThanOrEqual(1024 + 256);
    // About 21 MiB went through; no connection ever held more than the unconfirmed-bytes budget
    // (512 KiB) plus the one publish frame (about 1 MiB) read past it and a socket read.
    const { peakConnectionBytes, pauses } = broker.stats();
    expect(peakConnectionBytes).toBeGreaterThan(0);
    expect(peakConnectionBytes).toBeLessThan(512 * 1024 + 1024 * 1024 + 256 * 1024);
    // The broker stopped reading the publisher (slowed it) rather than failing it.
    expect(pauses).toBeGreaterThan(pausesBefore);
    await publisher.close();
    await consumer.close({ timeout: 100 });
  });
});

describe('service registry', () => {
  it('lists live instances with their handlers and subscriptions over HTTP; a closed connection leaves', async () => {
    const { startHttpAdmin } = await import('../src/index.js');
    const admin = await startHttpAdmin({
      engine: broker.engine,
      host: '127.0.0.1',
      port: 0,
      ready: () => true,
    });
    const inventory = await courierTransport({
      port: broker.port,
      token: 'admin',
      service: 'inventory',
      instance: 'inv-1',
    }).then((t) => connect(t, { service: 'inventory' }));
    await inventory.handle('inventory.reserve', () => ({ ok: true })).ready;
    await inventory.subscribe('orders.created', () => undefined, { group: 'inventory' }).ready;
    const services = async (): Promise<
      Array<{ service: string; instance: string; handlers: string[]; subscriptions: string[] }>
    > => (await fetch(`http://127.0.0.1:${admin.port}/api/services`)).json() as never;
    const listed = (await services()).find((s) => s.instance === 'inv-1');
    expect(listed).toMatchObject({
      service: 'inventory',
      handlers: ['inventory.reserve'],
      subscriptions: ['inventory orders.created'],
    });
    await inventory.close();
    await expect
      .poll(async () => (await services()).some((s) => s.instance === 'inv-1'), { timeout: 10_000 })
      .toBe(false);
    await admin.close();
  });
});

describe('service versions', () => {
  it("shows the version a service connects with (connect's version option) in the registry", async () => {
    const bus = await connect(`courier://admin@127.0.0.1:${broker.port}`, {
      service: 'billing',
      instance: 'bill-7',
      version: '2.4.1',
    });
    const listed = broker.engine.services.list().find((s) => s.instance === 'bill-7');
    expect(listed).toMatchObject({ service: 'billing', instance: 'bill-7', version: '2.4.1' });
    await bus.close();
    const unversioned = await courierTransport({ port: broker.port, token: 'admin', instance: 'plain-1' });
    const plain = broker.engine.services.list().find((s) => s.instance === 'plain-1');
    expect(plain).toBeDefined();
    expect(plain).not.toHaveProperty('version');
    await unversioned.close();
  });
});

describe('broker server against raw clients', () => {
  function frames(...list: Parameters<typeof writeFrame>[1][]): Buffer {
    const w = new WireWriter();
    for (const f of list) writeFrame(w, f);
    return Buffer.from(w.take());
  }
  const message = (subject: string, headers: Record<string, string> = {}) => ({
    id: `raw-${Math.random()}`,
    subject,
    contentType: 'application/json',
    source: 'raw',
    time: Date.now(),
    headers,
    payload: new Uint8Array([1]),
  });

  it('refuses a malformed subject or a reserved header per message, and out-of-order publish numbers with PROTOCOL_ERROR', async () => {
    const { received } = await rawSession(
      Buffer.concat([
        hello('admin'),
        frames({
          type: FrameType.PUBLISH,
          firstSeq: 1,
          messages: [
            message('orders.*'),
            message('ok.subject', { 'courier-replay-to': 'x' }),
            message('ok.subject'),
          ],
        }),
      ]),
      10_000,
      // The connection stays open: wait until both refusals have come, not for a fixed time.
      (text) => text.includes('INVALID_SUBJECT') && text.includes('is reserved for dead-letter replays'),
    );
    const text = received.toString('latin1');
    expect(text).toContain('INVALID_SUBJECT');
    expect(text).toContain('is reserved for dead-letter replays');
    const skipped = await rawSession(
      Buffer.concat([
        hello('admin'),
        frames(
          { type: FrameType.PUBLISH, firstSeq: 5, messages: [message('a.b')] },
          { type: FrameType.PUBLISH, firstSeq: 9, messages: [message('a.b')] },
        ),
      ]),
    );
    expect(skipped.closed).toBe(true);
    expect(skipped.received.toString('latin1')).toContain('out of order');
  });

  it('keeps dead letters to tokens with every right', async () => {
    const limited = await courierTransport({ port: broker.port, token: 'orders-only' });
    await expect(limited.deadLetters.list('billing')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await limited.close();
  });

  it('refuses, in the client, what a frame cannot carry, without disturbing other publishes', async () => {
    const bus = await busFor('admin');
    await expect(bus.publish('orders.created', 1, { key: 'k'.repeat(70_000) })).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
    });
    await expect(
      bus.publish('orders.created', 1, { headers: { big: '€'.repeat(3_000_000) } }),
    ).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(bus.publish('orders.created', 2)).resolves.toHaveProperty('id');
    await bus.close();
  });
});
