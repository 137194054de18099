import { type } from 'arktype';
import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { connect } from './connect.js';
import { event, rpc } from './contract.js';
import type { MessageContext } from './subscription.js';

const OrderCreated = event('orders.created', z.object({ id: z.string(), total: z.number() }));
const Reserve = rpc('inventory.reserve', {
  request: z.object({ sku: z.string(), qty: z.number().int() }),
  response: z.object({ ok: z.boolean() }),
});
const Shipped = event(
  'orders.shipped',
  v.object({
    id: v.string(),
    at: v.pipe(
      v.string(),
      v.transform((s) => new Date(s)),
    ),
  }),
);
const Price = rpc('pricing.quote', {
  request: v.object({ sku: v.string() }),
  response: v.object({ cents: v.number() }),
});

describe('contracts', () => {
  it('types flow from zod contracts to handlers and to request results', async () => {
    await using bus = await connect('memory://');
    expectTypeOf(bus.publish<typeof OrderCreated>)
      .parameter(1)
      .toEqualTypeOf<{ id: string; total: number }>();
    bus.subscribe(OrderCreated, (order, ctx) => {
      expectTypeOf(order).toEqualTypeOf<{ id: string; total: number }>();
      expectTypeOf(ctx).toEqualTypeOf<MessageContext>();
    });
    bus.handle(Reserve, (req) => {
      expectTypeOf(req).toEqualTypeOf<{ sku: string; qty: number }>();
      return { ok: req.qty < 5 };
    });
    const reply = await bus.request(Reserve, { sku: 'A', qty: 1 });
    expectTypeOf(reply).toEqualTypeOf<{ ok: boolean }>();
    expect(reply).toEqual({ ok: true });
    // @ts-expect-error: total must be a number
    await expect(bus.publish(OrderCreated, { id: 'x', total: '1' })).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
    });
    // @ts-expect-error: the handler must return the response type
    bus.handle(Reserve, () => ({ ok: 'yes' }));
  });

  it('types flow from valibot contracts, with input and output types kept apart', async () => {
    await using bus = await connect('memory://');
    const got = new Promise<Date>((resolve) => {
      bus.subscribe(Shipped, (data) => {
        expectTypeOf(data).toEqualTypeOf<{ id: string; at: Date }>();
        resolve(data.at);
      });
    });
    expectTypeOf(bus.publish<typeof Shipped>)
      .parameter(1)
      .toEqualTypeOf<{ id: string; at: string }>();
    await bus.publish(Shipped, { id: 's', at: '2026-01-02T03:04:05Z' });
    expect((await got).toISOString()).toBe('2026-01-02T03:04:05.000Z');
    bus.handle(Price, ({ sku }) => ({ cents: sku.length * 100 }));
    const quote = await bus.request(Price, { sku: 'abc' });
    expectTypeOf(quote).toEqualTypeOf<{ cents: number }>();
    expect(quote).toEqual({ cents: 300 });
  });

  it('arktype schemas work the same way', async () => {
    await using bus = await connect('memory://');
    const Ping = event('health.ping', type({ n: 'number' }));
    await expect(bus.publish(Ping, { n: 1 })).resolves.toHaveProperty('id');
    // @ts-expect-error: n must be a number
    await expect(bus.publish(Ping, { n: 'one' })).rejects.toThrow(/does not match its schema: n: /);
  });

  it('plain subjects and schema-less contracts are typed by their type parameter', async () => {
    await using bus = await connect('memory://');
    const Untyped = event<{ a: number }>('plain.typed');
    bus.subscribe(Untyped, (data) => expectTypeOf(data).toEqualTypeOf<{ a: number }>());
    bus.subscribe<string>('plain.string', (data) => expectTypeOf(data).toEqualTypeOf<string>());
    expectTypeOf(bus.request<number>('plain.rpc', 1)).toEqualTypeOf<Promise<number>>();
    expect(Untyped).toMatchObject({ kind: 'event', subject: 'plain.typed', schema: undefined });
  });

  it('refuses contracts on malformed or wildcard subjects', () => {
    expect(() => event('orders.*', z.string())).toThrow(expect.objectContaining({ code: 'INVALID_SUBJECT' }));
    expect(() => rpc('a..b')).toThrow(expect.objectContaining({ code: 'INVALID_SUBJECT' }));
  });
});
