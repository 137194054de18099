/** `connect('amqp10://...')` loads this package, detects RabbitMQ and round-trips a message. */
import { connect } from '@courier/core';
import { Collector } from '@courier/testkit';
import { afterAll, expect, it } from 'vitest';
import type { Amqp10Transport } from '../src/index.js';
import { cleanRabbitmq, rabbitmqTestOptions } from './brokers.js';

const options = rabbitmqTestOptions();
afterAll(() => cleanRabbitmq(options));

it('connects by URL, detects RabbitMQ and delivers to a group', async () => {
  const bus = await connect(
    `amqp10://guest:guest@127.0.0.1:5672?prefix=${options.prefix}&exchange=${options.exchange}`,
    { service: 'url' },
  );
  expect(bus.transport.engine).toBe('amqp10');
  expect((bus.transport as Amqp10Transport).profile.kind).toBe('rabbitmq');
  const seen = new Collector<unknown>();
  await bus.subscribe('url.orders.*', (data) => void seen.push(data), { group: 'g' }).ready;
  await bus.publish('url.orders.created', { id: 1 });
  expect(await seen.count(1, 5000)).toEqual([{ id: 1 }]);
  await bus.close();
});
