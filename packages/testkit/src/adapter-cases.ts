/**
 * Adapter-level cases: the Transport SPI used directly, before any Bus
 * behaviour is layered on top. Each declared capability is exercised here.
 */
import { CourierError, type Delivery, newId, type RawMessage, type Transport } from '@courier/core';
import { expect } from 'vitest';
import { Collector, within } from './helpers.js';
import type { CaseContext, SuiteCase } from './suite-case.js';

/** A raw message with sensible fields; `overrides` wins. */
export function rawMessage(subject: string, overrides: Partial<RawMessage> = {}): RawMessage {
  return {
    id: newId(),
    subject,
    payload: new TextEncoder().encode(JSON.stringify({ n: 1 })),
    contentType: 'application/json',
    headers: {},
    time: Date.now(),
    source: 'suite',
    ...overrides,
  };
}

/** Where a raw member attaches, and how it behaves. */
interface MemberOptions {
  subject: string;
  group: string;
  maxInFlight?: number;
  /** Ack every delivery as it arrives. */
  autoAck?: boolean;
  ackWait?: number;
}

async function member(ctx: CaseContext, transport: Transport, options: MemberOptions) {
  const { subject, group } = options;
  const got = new Collector<Delivery>();
  const consumer = await transport.consume(
    {
      subject,
      group,
      durable: true,
      deliver: 'new',
      maxInFlight: options.maxInFlight ?? 10,
      ackWait: options.ackWait ?? ctx.wait(30_000),
    },
    (delivery) => {
      got.push(delivery);
      if (options.autoAck) void delivery.ack();
    },
  );
  return { got, consumer };
}

const ids = (deliveries: readonly Delivery[]): string[] => deliveries.map((d) => d.message.id);

export const adapterCases: SuiteCase[] = [
  {
    id: 'adapter.capabilities',
    title: 'declares every capability and a positive max payload',
    async run(ctx) {
      for (const name of [
        'durable',
        'replay',
        'keyOrdering',
        'delay',
        'nackDelay',
        'dedup',
        'request',
        'deadLetter',
      ] as const) {
        expect(typeof ctx.capabilities[name], name).toBe('boolean');
      }
      expect(ctx.capabilities.maxPayload).toBeGreaterThan(0);
    },
  },
  {
    id: 'adapter.publish-consume',
    title: 'a raw message arrives with every attribute unchanged',
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.raw`;
      const { got } = await member(ctx, transport, { subject, group: ctx.name('g') });
      const sent = rawMessage(subject, {
        payload: new Uint8Array([0, 1, 2, 254, 255]),
        contentType: 'application/octet-stream',
        headers: { 'x-trace': 'abc', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        key: 'k1',
      });
      await transport.publish(sent);
      const [delivery] = await got.count(1, ctx.wait(5000));
      const message = (delivery as Delivery).message;
      expect(message.id).toBe(sent.id);
      expect(message.subject).toBe(subject);
      expect(Array.from(message.payload)).toEqual([0, 1, 2, 254, 255]);
      expect(message.contentType).toBe('application/octet-stream');
      expect(message.headers).toMatchObject(sent.headers);
      expect(message.time).toBe(sent.time);
      expect(message.source).toBe('suite');
      expect(message.key).toBe('k1');
      expect((delivery as Delivery).attempt).toBe(1);
      await (delivery as Delivery).ack();
    },
  },
  {
    id: 'adapter.ack',
    title: 'an acked message is not delivered again to the group',
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.ack`;
      const group = ctx.name('g');
      const first = await member(ctx, transport, { subject, group });
      const acked = rawMessage(subject);
      await transport.publish(acked);
      const [delivery] = await first.got.count(1, ctx.wait(5000));
      await (delivery as Delivery).ack();
      await first.consumer.close();
      const later = rawMessage(subject);
      await transport.publish(later);
      const second = await member(ctx, transport, { subject, group });
      const [next] = await second.got.count(1, ctx.wait(5000));
      expect((next as Delivery).message.id).toBe(later.id);
      await (next as Delivery).ack();
    },
  },
  {
    id: 'adapter.nack',
    title: 'a nacked message comes again with the next attempt number, not before its delay',
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.nack`;
      const { got } = await member(ctx, transport, { subject, group: ctx.name('g') });
      await transport.publish(rawMessage(subject));
      const [first] = await got.count(1, ctx.wait(5000));
      const delay = 200;
      const nackedAt = Date.now();
      await (first as Delivery).nack(delay);
      const [, second] = await got.count(2, ctx.wait(5000));
      expect((second as Delivery).message.id).toBe((first as Delivery).message.id);
      expect((second as Delivery).attempt).toBe(2);
      if (ctx.capabilities.nackDelay) expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(delay - 5);
      await (second as Delivery).ack();
    },
  },
  {
    id: 'adapter.ack-wait',
    title: 'an unsettled delivery goes back to the group after ackWait, with the next attempt number',
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.ackwait`;
      const { got } = await member(ctx, transport, { subject, group: ctx.name('g'), ackWait: ctx.wait(500) });
      const sent = rawMessage(subject);
      await transport.publish(sent);
      const [first] = await got.count(1, ctx.wait(5000));
      const [, second] = await got.count(2, ctx.wait(10_000));
      expect((second as Delivery).message.id).toBe(sent.id);
      expect((second as Delivery).attempt).toBe(2);
      expect((first as Delivery).attempt).toBe(1);
      await (second as Delivery).ack();
    },
  },
  {
    id: 'adapter.touch',
    title: 'touch restarts the ackWait clock: a delivery touched in time is not handed out again',
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.touch`;
      // Eight touches per ack wait: a busy machine that holds one back by most of an ack wait still touches in time.
      const ackWait = ctx.wait(1000);
      const { got } = await member(ctx, transport, { subject, group: ctx.name('g'), ackWait });
      await transport.publish(rawMessage(subject));
      const [held] = await got.count(1, ctx.wait(5000));
      // Time passing is the behaviour under test: three ack-wait periods, touched eight times each.
      const toucher = setInterval(() => (held as Delivery).touch(), ackWait / 8);
      await new Promise((resolve) => setTimeout(resolve, ackWait * 3));
      clearInterval(toucher);
      expect(got.items).toHaveLength(1);
      await (held as Delivery).ack();
      const next = rawMessage(subject);
      await transport.publish(next);
      await got.until((items) => ids(items).includes(next.id), ctx.wait(5000), 'the next message');
      expect(got.items).toHaveLength(2);
    },
  },
  {
    id: 'adapter.dead-letter',
    title: 'a dead-lettered message is listed with its error, replays to its group, and purges',
    needs: ['deadLetter'],
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.dead`;
      const group = ctx.name('g');
      const { got } = await member(ctx, transport, { subject, group });
      const other = await member(ctx, transport, { subject, group: ctx.name('other'), autoAck: true });
      const sent = rawMessage(subject);
      await transport.publish(sent);
      const [first] = await got.count(1, ctx.wait(5000));
      const error = new CourierError('HANDLER_ERROR', 'boom', { data: { why: 'test' } }).toWire();
      await (first as Delivery).deadLetter(error);
      const store = transport.deadLetters;
      if (!store) throw new Error('deadLetter is declared but transport.deadLetters is missing');
      const listed = await store.list(group);
      expect(listed.map((d) => d.message.id)).toEqual([sent.id]);
      expect(listed[0]?.error).toMatchObject({
        code: 'HANDLER_ERROR',
        message: 'boom',
        data: { why: 'test' },
      });
      expect(listed[0]?.attempts).toBe(1);
      expect(listed[0]?.pattern).toBe(subject);
      expect(await store.replay(group)).toBe(1);
      const [, again] = await got.count(2, ctx.wait(5000));
      expect((again as Delivery).message.id).toBe(sent.id);
      expect((again as Delivery).attempt).toBe(1);
      // The replay went to this group only: the other group sees the original and then the next message.
      const next = rawMessage(subject);
      await transport.publish(next);
      await other.got.until((items) => ids(items).includes(next.id), ctx.wait(5000), 'the next message');
      expect(ids(other.got.items).sort()).toEqual([sent.id, next.id].sort());
      await (again as Delivery).deadLetter(error);
      expect(await store.purge(group, [sent.id])).toBe(1);
      expect(await store.list(group)).toEqual([]);
    },
  },
  {
    id: 'adapter.deliver-at',
    title: 'a message with deliverAt is held by the engine until then',
    needs: ['delay'],
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.at`;
      const { got } = await member(ctx, transport, { subject, group: ctx.name('g') });
      const deliverAt = Date.now() + 300;
      await transport.publish(rawMessage(subject, { deliverAt }));
      const [delivery] = await got.count(1, ctx.wait(5000));
      expect(Date.now()).toBeGreaterThanOrEqual(deliverAt - 5);
      await (delivery as Delivery).ack();
    },
  },
  {
    id: 'adapter.dedup',
    title: 'the same id published twice is stored once',
    needs: ['dedup'],
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.dedup`;
      const { got } = await member(ctx, transport, {
        subject,
        group: ctx.name('g'),
        maxInFlight: 1,
        autoAck: true,
      });
      const twice = rawMessage(subject);
      await transport.publish(twice);
      await transport.publish({ ...twice, time: Date.now() });
      const last = rawMessage(subject);
      await transport.publish(last);
      const all = await got.until(
        (items) => ids(items).includes(last.id),
        ctx.wait(5000),
        'the last message',
      );
      expect(ids(all)).toEqual([twice.id, last.id]);
    },
  },
  {
    id: 'adapter.key-ordering',
    title: 'the engine hands out one message per key at a time, in order',
    needs: ['keyOrdering'],
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.keys`;
      const { got } = await member(ctx, transport, { subject, group: ctx.name('g'), maxInFlight: 10 });
      const sent = [1, 2, 3].map(() => rawMessage(subject, { key: 'same' }));
      for (const m of sent) await transport.publish(m);
      const other = rawMessage(subject, { key: 'other' });
      await transport.publish(other);
      // The first of key `same` and the one of key `other` are out together; the rest of `same` waits.
      await got.until(
        (items) => ids(items).includes(other.id) && ids(items).includes(sent[0]?.id as string),
        ctx.wait(5000),
      );
      expect(ids(got.items)).not.toContain(sent[1]?.id);
      for (let i = 0; i < sent.length; i++) {
        const current = got.items.find((d) => d.message.id === sent[i]?.id) as Delivery;
        await current.ack();
        if (i + 1 < sent.length) {
          await got.until((items) => ids(items).includes(sent[i + 1]?.id as string), ctx.wait(5000));
        }
      }
      expect(ids(got.items).filter((id) => id !== other.id)).toEqual(sent.map((m) => m.id));
    },
  },
  {
    id: 'adapter.request',
    title: 'serve answers a request; errors come back in wire form; no responder fails fast',
    needs: ['request'],
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const subject = `${ctx.prefix}.rpc`;
      await expect(
        transport.request(rawMessage(subject), { timeout: ctx.wait(10_000) }),
      ).rejects.toMatchObject({ code: 'NO_RESPONDERS' });
      const responder = await transport.serve(subject, async (request) =>
        request.headers['fail'] === 'yes'
          ? { ok: false, error: { code: 'NOPE', message: 'refused', retryable: false } }
          : {
              ok: true,
              payload: request.payload,
              contentType: request.contentType,
              headers: { echoed: 'yes' },
            },
      );
      const reply = await transport.request(rawMessage(subject, { payload: new Uint8Array([7, 8]) }), {
        timeout: ctx.wait(5000),
      });
      expect(reply.ok && Array.from(reply.payload)).toEqual([7, 8]);
      const failed = await transport.request(rawMessage(subject, { headers: { fail: 'yes' } }), {
        timeout: ctx.wait(5000),
      });
      expect(failed).toEqual({ ok: false, error: { code: 'NOPE', message: 'refused', retryable: false } });
      await responder.close();
    },
  },
  {
    id: 'adapter.max-payload',
    title: 'the engine itself refuses a message over its max payload',
    async run(ctx) {
      const transport = await ctx.scope.transport();
      const big = rawMessage(`${ctx.prefix}.big`, {
        payload: new Uint8Array(ctx.capabilities.maxPayload + 1),
      });
      await expect(transport.publish(big)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    },
  },
  {
    id: 'adapter.closed',
    title: 'a closed transport refuses to publish with CONNECTION_CLOSED',
    async run(ctx) {
      const transport = await ctx.scope.transport();
      await transport.close();
      await expect(
        within(transport.publish(rawMessage(`${ctx.prefix}.closed`)), ctx.wait(5000), 'publish'),
      ).rejects.toMatchObject({
        code: 'CONNECTION_CLOSED',
      });
    },
  },
];
