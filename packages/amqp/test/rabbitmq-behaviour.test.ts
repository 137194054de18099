/**
 * RabbitMQ-specific behaviour beyond the conformance suite: retries wait in
 * RabbitMQ (not in the process), foreign and malformed messages are
 * dead-lettered rather than stopping the consumer, `>` does not match its
 * prefix, a group declares its queue again when it is deleted under it, and
 * requests fail fast again once the last responder leaves.
 */
import { connect, type Delivery } from '@courier/core';
import { Collector, eventually, rawMessage, uniqueName } from '@courier/testkit';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport, groupQueue } from '../src/index.js';
import { RABBIT_URL, removeNamespace, testNamespace } from './rabbit.js';

const namespace = testNamespace('behaviour');
const open: AmqpTransport[] = [];

async function transport(): Promise<AmqpTransport> {
  const t = await AmqpTransport.connect(new URL(RABBIT_URL), { namespace });
  open.push(t);
  return t;
}

afterAll(async () => {
  for (const t of open) await t.close();
  await removeNamespace(namespace);
}, 30_000);

function member(t: AmqpTransport, subject: string, group: string) {
  const got = new Collector<Delivery>();
  const consumer = t.consume(
    { subject, group, durable: true, deliver: 'new', maxInFlight: 10, ackWait: 30_000 },
    (delivery) => got.push(delivery),
  );
  return { got, consumer };
}

describe('rabbitmq behaviour', () => {
  it('a delayed retry is held by RabbitMQ: it survives the process that nacked it, with its attempt count', async () => {
    const subject = `${uniqueName('retry')}.x`;
    const first = await transport();
    const a = member(first, subject, 'g');
    await a.consumer;
    await first.publish(rawMessage(subject));
    const [delivery] = await a.got.count(1, 5000);
    await (delivery as Delivery).nack(400);
    await first.close(); // the process is gone; the retry waits in RabbitMQ
    const second = await transport();
    const b = member(second, subject, 'g');
    await b.consumer;
    const [again] = await b.got.count(1, 5000);
    expect(again?.message.id).toBe(delivery?.message.id);
    expect(again?.attempt).toBe(2);
    await again?.ack();
  });

  it('a foreign message with an undecodable body is dead-lettered and the consumer carries on', async () => {
    const t = await transport();
    const bus = await connect(t, { service: 'behaviour', onError: () => undefined });
    const subject = `${uniqueName('foreign')}.x`;
    const seen = new Collector<unknown>();
    await bus.subscribe(subject, (data) => seen.push(data), { group: 'g' }).ready;
    const raw = await amqp.connect(RABBIT_URL);
    const channel = await raw.createConfirmChannel();
    channel.publish(namespace, subject, Buffer.from('{not json'), { contentType: 'application/json' });
    await channel.waitForConfirms();
    await raw.close();
    await bus.publish(subject, 'fine');
    await seen.count(1, 5000);
    expect(seen.items).toEqual(['fine']);
    const dead = await eventually(async () => {
      const listed = await bus.deadLetters.list('g');
      return listed.length > 0 ? listed : undefined;
    }, 'the foreign message dead-lettered');
    expect(dead[0]?.error.code).toBe('CODEC_ERROR');
    expect(dead[0]?.message.subject).toBe(subject);
  });

  it('a group whose queue is deleted under it declares the queue again and goes on consuming', async () => {
    const t = await transport();
    const subject = `${uniqueName('deleted')}.x`;
    const a = member(t, subject, 'g');
    await a.consumer;
    const raw = await amqp.connect(RABBIT_URL);
    try {
      const channel = await raw.createChannel();
      // RabbitMQ cancels the consumer of a deleted queue; the member opens a new channel and declares it again.
      await channel.deleteQueue(groupQueue(namespace, 'g', subject));
      await channel.close();
      await eventually(async () => {
        // A check of a missing queue closes its channel: one channel per check.
        const probe = await raw.createChannel();
        probe.on('error', () => undefined);
        const ok = await probe.checkQueue(groupQueue(namespace, 'g', subject)).catch(() => undefined);
        if (ok) await probe.close();
        return ok && ok.consumerCount > 0 ? ok : undefined;
      }, 'the group queue declared again with its consumer');
    } finally {
      await raw.close().catch(() => undefined);
    }
    const sent = rawMessage(subject);
    await t.publish(sent);
    const [delivery] = await a.got.count(1, 10_000);
    expect(delivery?.message.id).toBe(sent.id);
    await delivery?.ack();
  });

  it("'>' needs at least one more token: orders.> does not receive orders", async () => {
    const t = await transport();
    const p = uniqueName('tail');
    const tail = member(t, `${p}.orders.>`, 'g');
    await tail.consumer;
    await t.publish(rawMessage(`${p}.orders`));
    const deep = rawMessage(`${p}.orders.eu.created`);
    await t.publish(deep);
    const [only] = await tail.got.count(1, 5000);
    expect(only?.message.id).toBe(deep.id);
    await only?.ack();
  });

  it('requests fail fast with NO_RESPONDERS again once the last responder has gone', async () => {
    const t = await transport();
    const subject = `${uniqueName('rpc')}.x`;
    const responder = await t.serve(subject, async (request) => ({
      ok: true,
      payload: request.payload,
      contentType: request.contentType,
      headers: {},
    }));
    const reply = await t.request(rawMessage(subject), { timeout: 5000 });
    expect(reply.ok).toBe(true);
    await responder.close();
    // NO_RESPONDERS comes from RabbitMQ returning the request at once; had it waited, it would be TIMEOUT.
    await expect(t.request(rawMessage(subject), { timeout: 10_000 })).rejects.toMatchObject({
      code: 'NO_RESPONDERS',
    });
  });
});
