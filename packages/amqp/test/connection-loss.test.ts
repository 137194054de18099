/**
 * Connection loss: RabbitMQ closes the transport's connection from its side
 * (`rabbitmqctl close_connection`; where rabbitmqctl cannot reach the broker,
 * a TCP proxy in between cuts it instead) while messages are being published
 * and consumed. The transport reconnects by itself, the subscriber resumes,
 * the responder answers again, and every publish that resolved is delivered.
 */
import { connect } from '@courier/core';
import { Collector, startTcpProxy, uniqueName } from '@courier/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../src/index.js';
import {
  closeConnectionsNamed,
  hasRabbitmqctl,
  RABBIT_URL,
  removeNamespace,
  testNamespace,
} from './rabbit.js';

const namespace = testNamespace('loss');

afterAll(() => removeNamespace(namespace), 30_000);

describe('rabbitmq connection loss', () => {
  it('reconnects, resumes the subscriber and the responder, and loses no confirmed message', {
    timeout: 60_000,
  }, async () => {
    const name = uniqueName('courier-loss-');
    const target = new URL(RABBIT_URL);
    await using proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) });
    const url = new URL(RABBIT_URL);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const transport = await AmqpTransport.connect(url, {
      namespace,
      connectionName: name,
      reconnect: { initialDelay: 50, maxDelay: 500 },
    });
    const serverSide = await hasRabbitmqctl();
    const bus = await connect(transport, { service: 'loss', onError: () => undefined });
    try {
      const subject = `${uniqueName('loss')}.orders`;
      const seen = new Collector<number>();
      const subscription = bus.subscribe<number>(subject, (n) => seen.push(n), {
        group: 'billing',
        concurrency: 8,
      });
      await subscription.ready;
      await bus.handle(`${subject}.price`, (n: number) => n * 2).ready;

      const confirmed: number[] = [];
      const publishing = (async () => {
        for (let n = 0; n < 300; n++) {
          await bus.publish(subject, n);
          confirmed.push(n);
        }
      })();
      await seen.count(50, 10_000);
      if (serverSide) expect(await closeConnectionsNamed(name)).toBeGreaterThan(0);
      else proxy.dropAll();
      await publishing;

      // Everything whose publish resolved arrives (at least once), including what was sent across the loss.
      await seen.until(
        (items) => confirmed.every((n) => items.includes(n)),
        30_000,
        'every confirmed message',
      );
      expect(confirmed).toHaveLength(300);

      // The responder is back too.
      await expect(bus.request(`${subject}.price`, 21, { timeout: 10_000 })).resolves.toBe(42);
    } finally {
      await bus.close({ timeout: 2000 });
    }
  });
});
