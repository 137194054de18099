/**
 * Connection loss: the server side drops the adapter's connections (a TCP
 * proxy between them cuts every socket) while messages flow. The client
 * reconnects by itself; members ask for their messages again, unconfirmed
 * publishes are retried with the same id, responders answer again, and no
 * confirmed message is lost.
 */
import { connect } from '@courier/core';
import { Collector, uniqueName } from '@courier/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { TestDeployment } from './helpers/shared-server.js';

const deployment = new TestDeployment();
afterAll(() => deployment.remove());

/** Resolves once the transport's client reports a reconnect. */
async function reconnected(transport: Awaited<ReturnType<TestDeployment['transport']>>): Promise<void> {
  for await (const status of transport.connection.status()) if (status.type === 'reconnect') return;
}

describe('nats connection loss', () => {
  it('a subscriber resumes and every confirmed publish arrives while connections are cut three times', async () => {
    const subject = `${uniqueName('s')}.loss`;
    const consumerTransport = await deployment.transport();
    const producerTransport = await deployment.transport();
    const consumer = await connect(consumerTransport, { service: 'consumer', onError: () => undefined });
    const producer = await connect(producerTransport, { service: 'producer' });
    try {
      const seen = new Collector<number>();
      // Messages the server sent into a connection as it died are redelivered after ackWait (JetStream
      // cannot tell a dead connection's deliveries apart); a short one keeps the test short.
      const sub = consumer.subscribe<number>(subject, (n) => seen.push(n), {
        group: 'g',
        concurrency: 16,
        ackWait: '2s',
      });
      await sub.ready;
      const confirmed = new Set<number>();
      const total = 600;
      const sends: Array<Promise<void>> = [];
      for (let n = 0; n < total; n++) {
        sends.push(producer.publish(subject, n).then(() => void confirmed.add(n)));
        if (n % 50 === 49) await Promise.all(sends.slice(-50));
        if (n % 200 === 100) {
          const back = Promise.all([reconnected(consumerTransport), reconnected(producerTransport)]);
          deployment.proxy(consumerTransport).dropAll();
          deployment.proxy(producerTransport).dropAll();
          // Publish while the connections are down: these must be retried, not lost.
          if (n === 100) await back;
        }
      }
      await Promise.all(sends);
      expect(confirmed.size).toBe(total);
      await seen.until((items) => new Set(items).size >= total, 30_000, 'every confirmed message');
      expect(new Set(seen.items)).toEqual(confirmed);
    } finally {
      await producer.close({ timeout: 1000 });
      await consumer.close({ timeout: 1000 });
    }
  }, 60_000);

  it('a responder answers again after its connection is cut', async () => {
    const subject = `${uniqueName('s')}.rpc`;
    const serverTransport = await deployment.transport();
    const server = await connect(serverTransport, { service: 'server' });
    const caller = await connect(await deployment.transport(), { service: 'caller' });
    try {
      await server.handle(subject, (n: number) => n * 2).ready;
      expect(await caller.request(subject, 2, { timeout: 5000 })).toBe(4);
      const back = reconnected(serverTransport);
      deployment.proxy(serverTransport).dropAll();
      await back;
      // The client resubscribes as it reconnects; once the server answered a ping, it has the subscription.
      await serverTransport.connection.flush();
      expect(await caller.request(subject, 3, { timeout: 5000 })).toBe(6);
    } finally {
      await caller.close({ timeout: 1000 });
      await server.close({ timeout: 1000 });
    }
  });
});
