/**
 * ActiveMQ-specific behaviour, against one private broker: a connection the
 * server side drops heals by itself (members resubscribe and resume,
 * publishes wait for the new connection); a publish that resolved before
 * ActiveMQ was killed (SIGKILL) and restarted is delivered afterwards, to a
 * wildcard group that was offline and to a member connected all along;
 * private subscriptions (no group) retry and dead-letter; `connect` with a
 * `stomp://` URL.
 */
import { CourierError, connect } from '@courier/core';
import { Collector, startTcpProxy, uniqueName } from '@courier/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { StompTransport } from '../src/index.js';
import { startActiveMq } from './activemq-server.js';

const broker = await startActiveMq();
afterAll(() => broker.stop());

const direct = () =>
  StompTransport.connect({ host: broker.host, port: broker.port, heartbeat: 1000, reconnectDelay: 50 });

describe('stomp: connection loss', () => {
  it('a member whose connection the server drops resubscribes and resumes; publishing waits for the new connection', async () => {
    await using proxy = await startTcpProxy({ port: broker.port });
    const subject = `${uniqueName('loss')}.events`;
    const group = uniqueName('g');
    const consumer = await connect(
      await StompTransport.connect({
        host: '127.0.0.1',
        port: proxy.port,
        heartbeat: 1000,
        reconnectDelay: 50,
      }),
      { service: 'loss', onError: () => undefined },
    );
    const producer = await connect(await direct(), { service: 'producer' });
    const seen = new Collector<number>();
    await consumer.subscribe<number>(subject, (n) => seen.push(n), { group }).ready;
    await producer.publish(subject, 1);
    await seen.count(1, 5000);

    proxy.dropAll();
    await producer.publish(subject, 2);
    // Through the dropped connection: a publish caught in flight rejects with CONNECTION_CLOSED (retryable:
    // it may or may not be stored); tried again with the same id, it waits for the reconnect and resolves.
    const id = uniqueName('id');
    for (let tries = 1; ; tries++) {
      const error = await consumer.publish(subject, 3, { id }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error === undefined) break;
      expect(error).toMatchObject({ code: 'CONNECTION_CLOSED', retryable: true });
      expect(tries).toBeLessThan(3);
    }
    const all = await seen.until((items) => items.includes(2) && items.includes(3), 10_000);
    expect([...new Set(all)].sort()).toEqual([1, 2, 3]);
    await consumer.close();
    await producer.close();
  });
});

describe('stomp: ActiveMQ restart', () => {
  // A JVM restart (startActiveMq allows it 60 s) and two waits of 20 s: more than the default 20 s test timeout.
  it('a resolved publish survives a broker kill and restart and is delivered; a connected member resumes by itself', {
    timeout: 120_000,
  }, async () => {
    const subject = `${uniqueName('restart')}.events`;
    const offline = uniqueName('offline');
    const pattern = subject.replace(/\.events$/, '.*');
    const online = uniqueName('online');
    const producer = await connect(await direct(), { service: 'producer', onError: () => undefined });
    // The offline group exists (its queue is durable) but has no member while the broker restarts.
    const first = await producer.subscribe(pattern, () => undefined, { group: offline });
    await first.ready;
    await first.close();
    const stayer = await connect(await direct(), { service: 'stayer', onError: () => undefined });
    const stayed = new Collector<string>();
    await stayer.subscribe<string>(subject, (s) => stayed.push(s), { group: online, concurrency: 1 }).ready;

    // One of them delayed: ActiveMQ's scheduler store must survive the kill too.
    for (const n of ['a', 'b']) await producer.publish(subject, n);
    await producer.publish(subject, 'c', { delay: '1s' });
    await broker.restart();

    const after = await connect(await direct(), { service: 'after' });
    const recovered = new Collector<string>();
    await after.subscribe<string>(pattern, (s) => recovered.push(s), { group: offline }).ready;
    const got = await recovered.count(3, 20_000);
    expect([...got].sort()).toEqual(['a', 'b', 'c']);
    // The member connected through the restart reconnected and got every message too (at least once).
    const resumed = await stayed.until((items) => ['a', 'b', 'c'].every((s) => items.includes(s)), 20_000);
    expect(new Set(resumed)).toEqual(new Set(['a', 'b', 'c']));
    await after.close();
    await stayer.close();
    await producer.close();
  });
});

describe('stomp: private subscriptions and URLs', () => {
  it('a subscription without a group gets live messages, retries through its own temporary queue, and dead-letters', async () => {
    const bus = await connect(`stomp://127.0.0.1:${broker.port}?heartbeat=1000`, { service: 'private' });
    const subject = `${uniqueName('private')}.events`;
    const attempts = new Collector<{ n: number; attempt: number }>();
    await bus.subscribe<number>(
      subject,
      (n, ctx) => {
        attempts.push({ n, attempt: ctx.attempt });
        if (n === 2) throw new CourierError('INVALID_MESSAGE', 'never valid', { retryable: false });
        if (ctx.attempt < 2) throw new Error('once more');
      },
      { retry: { attempts: 3, backoff: 'fixed', delay: 50 } },
    ).ready;
    await bus.publish(subject, 1);
    await bus.publish(subject, 2);
    const seen = await attempts.until((items) => items.some((i) => i.n === 1 && i.attempt === 2), 10_000);
    expect(seen.filter((i) => i.n === 1).map((i) => i.attempt)).toEqual([1, 2]);
    expect(seen.filter((i) => i.n === 2).map((i) => i.attempt)).toEqual([1]);
    expect(bus.transport.engine).toBe('stomp');
    await bus.close();
  });

  it('subjects and groups with characters ActiveMQ gives meaning to stay apart and round-trip', async () => {
    const bus = await connect(`stomp://127.0.0.1:${broker.port}`, { service: 'names' });
    const base = uniqueName('odd');
    const subjects = [`${base}.a,b`, `${base}.a/b`, `${base}.ü:x`, `${base}.a%2Cb`];
    const seen = new Collector<{ subject: string; data: string }>();
    for (const group of ['billing.eu', 'billing,eu', 'billing~x']) {
      await bus.subscribe<string>(`${base}.*`, (data, ctx) => seen.push({ subject: ctx.subject, data }), {
        group,
      }).ready;
    }
    for (const subject of subjects) await bus.publish(subject, subject);
    const all = await seen.count(subjects.length * 3, 10_000);
    expect(all.every((s) => s.subject === s.data)).toBe(true);
    expect(new Set(all.map((s) => s.subject))).toEqual(new Set(subjects));
    await bus.close();
  });

  it('a wrong port fails to connect with CONNECTION_CLOSED, not a hang', async () => {
    const free = await startTcpProxy({ port: 1 });
    const port = free.port;
    await free.close();
    await expect(connect(`stomp://127.0.0.1:${port}?connectTimeout=2000`)).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
    });
  });
});
