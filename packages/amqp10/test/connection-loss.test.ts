/**
 * Connection loss: the server side drops every connection (a TCP proxy cuts
 * them); the transport reconnects by itself, its members re-attach and
 * resume, what was unsettled comes back, and publishing works again.
 */
import { connect } from '@courier/core';
import { Collector, deferred, within } from '@courier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanRabbitmq,
  type ProtonBroker,
  proxiedFactory,
  RABBITMQ,
  rabbitmqTestOptions,
  startProtonBroker,
} from './brokers.js';

describe('amqp10 on RabbitMQ: connection loss', () => {
  const options = rabbitmqTestOptions();
  const proxied = proxiedFactory(RABBITMQ.port, options);
  afterAll(async () => {
    await proxied.close();
    await cleanRabbitmq(options);
  });

  it('a member reconnects, gets back the delivery it held unsettled, and resumes; publishing resumes', async () => {
    const transport = await proxied.factory();
    const bus = await connect(transport, { service: 'loss', onError: () => undefined });
    const seen = new Collector<{ data: unknown; attempt: number }>();
    const holding = deferred();
    let hold = true;
    const sub = bus.subscribe(
      'loss.orders',
      async (data, ctx) => {
        if (data === 'held' && hold) {
          hold = false;
          holding.resolve();
          return new Promise(() => undefined); // its connection dies first
        }
        seen.push({ data, attempt: ctx.attempt });
      },
      { group: 'billing', concurrency: 4 },
    );
    await sub.ready;
    await bus.publish('loss.orders', 'held');
    await within(holding.promise, 5000, 'the first delivery');
    proxied.proxy(transport)?.dropAll();
    // Published while the connection is down or coming back: resolves once the broker has it.
    await bus.publish('loss.orders', 'after');
    const got = await seen.count(2, 15_000);
    expect(got.map((s) => s.data).sort()).toEqual(['after', 'held']);
    expect(got.find((s) => s.data === 'held')?.attempt).toBe(2);
    await bus.close({ timeout: 500 });
  });
});

describe('amqp10 on the Proton example broker: connection loss', () => {
  let broker: ProtonBroker;
  let proxied: ReturnType<typeof proxiedFactory>;
  beforeAll(async () => {
    broker = await startProtonBroker();
    proxied = proxiedFactory(broker.port, { host: '127.0.0.1', broker: 'queues' });
  });
  afterAll(async () => {
    await proxied?.close();
    await broker?.stop();
  });

  it('a member reconnects by itself and receives what is published afterwards', async () => {
    const transport = await proxied.factory();
    const bus = await connect(transport, { service: 'loss', onError: () => undefined });
    const seen = new Collector<unknown>();
    const sub = bus.subscribe('loss.jobs', (data) => void seen.push(data), { group: 'workers' });
    await sub.ready;
    await bus.publish('loss.jobs', 1);
    await seen.count(1, 5000);
    proxied.proxy(transport)?.dropAll();
    await bus.publish('loss.jobs', 2);
    expect(await seen.count(2, 15_000)).toEqual([1, 2]);
    await bus.close({ timeout: 500 });
  });
});
