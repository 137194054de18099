import { connect, event, rpc } from '@courier/core';
import { z } from 'zod';

export const OrderCreated = event('orders.created', z.object({ id: z.string(), total: z.number() }));
export const Reserve = rpc('inventory.reserve', {
  request: z.object({ sku: z.string(), qty: z.number().int() }),
  response: z.object({ ok: z.boolean() }),
});

export async function main(
  url = process.env['COURIER_URL'] ?? 'memory://',
  log = console.log,
): Promise<void> {
  const bus = await connect(url, { service: 'orders' });

  bus.handle(Reserve, async ({ sku, qty }) => ({ ok: sku === 'A' && qty <= 10 }));
  const billed = new Promise<void>((resolve) => {
    bus.subscribe(
      OrderCreated,
      async (order, ctx) => {
        log(`billing ${order.id}: ${order.total} (attempt ${ctx.attempt})`);
        resolve();
      },
      { group: 'billing', concurrency: 16, retry: { attempts: 5, backoff: 'exponential' } },
    );
  });

  const { ok } = await bus.request(Reserve, { sku: 'A', qty: 1 }, { timeout: '2s' });
  log(`inventory reserved: ${ok}`);
  await bus.publish(OrderCreated, { id: 'o-1', total: 42 }); // resolves once durable
  await billed;
  await bus.close(); // drains in-flight work
}
