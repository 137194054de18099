/**
 * Dead letters over the wire come in pages: a list larger than the broker's
 * frame limit arrives whole (the client follows the pages), a limit is
 * honoured across pages, and nothing is listed twice or skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@courier/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BrokerServer, courierTransport, startBroker } from '../src/index.js';

let dir: string;
let broker: BrokerServer;
const MAX_FRAME = 64 * 1024;
const COUNT = 60;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'courier-dl-pages-'));
  // 60 dead letters of 4 KiB each are about 250 KiB: four times what one frame may carry.
  broker = await startBroker({ dir, port: 0, maxFrame: MAX_FRAME, maxPayload: 8 * 1024 });
  const bus = await connect(broker.url, { service: 'dl-pages', onError: () => undefined });
  await bus.subscribe(
    'pages.failing',
    () => {
      throw new Error('always fails');
    },
    { group: 'pages', retry: { attempts: 1 } },
  ).ready;
  const payload = new Uint8Array(4096).fill(7);
  await Promise.all(
    Array.from({ length: COUNT }, (_, i) => bus.publish('pages.failing', payload, { id: `dl-${i}` })),
  );
  await vi.waitFor(async () => expect((await broker.engine.deadLetters.list('pages')).length).toBe(COUNT), {
    timeout: 10_000,
    interval: 50,
  });
  await bus.close();
});

afterAll(async () => {
  await broker.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dead letters over the wire', () => {
  it('lists more dead letters than one frame holds, in order, by following pages', async () => {
    await using transport = await courierTransport({ port: broker.port });
    const listed = await transport.deadLetters.list('pages');
    expect(listed.map((d) => d.message.id)).toEqual(
      (await broker.engine.deadLetters.list('pages')).map((d) => d.message.id),
    );
    expect(new Set(listed.map((d) => d.message.id)).size).toBe(COUNT);
    expect(listed[0]?.message.payload.byteLength).toBe(4096);
  });

  it('stops at the requested limit, across pages', async () => {
    await using transport = await courierTransport({ port: broker.port });
    const all = await transport.deadLetters.list('pages');
    const some = await transport.deadLetters.list('pages', { limit: 37 });
    expect(some.map((d) => d.message.id)).toEqual(all.slice(0, 37).map((d) => d.message.id));
    expect(await transport.deadLetters.list('pages', { limit: 3 })).toHaveLength(3);
    expect(await transport.deadLetters.list('nobody')).toEqual([]);
  });
});
