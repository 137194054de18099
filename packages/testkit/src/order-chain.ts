/**
 * A three-service chain for end-to-end tests (tracing, metrics) on any URL:
 * `orders` handles `orders` by publishing `orders.created`; `billing` handles
 * that by requesting `inventory.reserve`, which `inventory` answers. One
 * publish to `orders` runs all of it.
 */
import { type Bus, connect, type PublishReceipt } from '@courier/core';

/** A running chain: three buses, ready; `close` closes them all. */
export interface OrderChain {
  /** Publishes an order to `orders`; resolves when the engine holds it. */
  publish(order: { id: string }): Promise<PublishReceipt>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Connects `orders`, `billing` and `inventory` to `url` and attaches their handlers. */
export async function startOrderChain(url: string): Promise<OrderChain> {
  const buses: Bus[] = [];
  const close = async (): Promise<void> => {
    for (const bus of buses.splice(0).reverse()) await bus.close();
  };
  try {
    const orders = await connect(url, { service: 'orders' });
    buses.push(orders);
    const billing = await connect(url, { service: 'billing' });
    buses.push(billing);
    const inventory = await connect(url, { service: 'inventory' });
    buses.push(inventory);
    await inventory.handle('inventory.reserve', ({ sku }: { sku: string }) => ({ ok: sku === 'A' })).ready;
    await orders.subscribe<{ id: string }>('orders', (order) => orders.publish('orders.created', order), {
      group: 'orders',
    }).ready;
    await billing.subscribe(
      'orders.created',
      async () => {
        await billing.request('inventory.reserve', { sku: 'A' });
      },
      { group: 'billing' },
    ).ready;
    return { publish: (order) => orders.publish('orders', order), close, [Symbol.asyncDispose]: close };
  } catch (error) {
    await close();
    throw error;
  }
}
