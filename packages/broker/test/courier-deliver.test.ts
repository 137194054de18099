/**
 * Deliver policies over `courier://`: the SUBSCRIBE frame carries a start
 * sequence or time to the broker, which starts the new group there; the
 * broker's streams configuration applies to what clients publish.
 */
import { type Bus, connect } from '@courier/core';
import { Collector } from '@courier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerServer, courierTransport, startBroker } from '../src/index.js';
import { tempDir } from './helpers/temp-dir.js';

let broker: BrokerServer;
let remove: () => Promise<void>;
let bus: Bus;

beforeAll(async () => {
  const temp = await tempDir('courier-deliver-');
  remove = temp.remove;
  broker = await startBroker({
    dir: temp.dir,
    port: 0,
    streams: [{ name: 'strict', subjects: ['strict.*'], maxMessages: 1, discard: 'new' }],
  });
  bus = await connect(await courierTransport({ port: broker.port }), { service: 'deliver-test' });
});

afterAll(async () => {
  await bus.close();
  await broker.close();
  await remove();
});

describe('courier:// deliver policies', () => {
  it('declares replayFrom', () => {
    expect(bus.transport.capabilities.replayFrom).toBe(true);
  });

  it('starts a new group at a sequence', async () => {
    for (let n = 1; n <= 4; n++) await bus.publish('wire.seq', { n });
    const got = new Collector<{ n: number }>();
    const sub = bus.subscribe<{ n: number }>('wire.seq', (d) => got.push(d), {
      group: 'from2',
      deliver: { sequence: 2 },
    });
    await sub.ready;
    await got.until((items) => items.some((i) => i.n === 4), 10_000);
    expect(got.items.map((i) => i.n)).toEqual([2, 3, 4]);
  });

  it('starts a new group at a time', async () => {
    await bus.publish('wire.time', { n: 1 });
    const before = Date.now();
    while (Date.now() <= before) await new Promise((resolve) => setImmediate(resolve));
    const since = Date.now();
    await bus.publish('wire.time', { n: 2 });
    const got = new Collector<{ n: number }>();
    const sub = bus.subscribe<{ n: number }>('wire.time', (d) => got.push(d), {
      group: 'since',
      deliver: { time: since },
    });
    await sub.ready;
    await got.until((items) => items.some((i) => i.n === 2), 10_000);
    expect(got.items.map((i) => i.n)).toEqual([2]);
  });

  it('gives STREAM_FULL to a publisher over the wire', async () => {
    await bus.publish('strict.a', 1);
    await expect(bus.publish('strict.a', 2)).rejects.toMatchObject({ code: 'STREAM_FULL' });
  });
});
