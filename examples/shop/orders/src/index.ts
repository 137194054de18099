/**
 * orders: the shop's front door, an HTTP API on `ORDERS_PORT` (default 3000).
 * It reserves stock by request-reply, publishes `orders.created`, and keeps
 * each order's state from the events billing and notifications publish
 * back (group `orders`).
 */
import {
  numberFromEnv,
  OrderBilled,
  OrderNotified,
  OrderReminded,
  runService,
} from '@courier/shop-contracts';
import { startHttpApi } from './http-api.js';
import { OrderStore } from './order-store.js';

const port = numberFromEnv(process.env, 'ORDERS_PORT', 3000);
const host = process.env['ORDERS_HOST'] ?? '127.0.0.1';

await runService({
  service: 'orders',
  async start({ bus, log }) {
    const store = new OrderStore();
    const report =
      (state: 'billed' | 'notified' | 'reminded') =>
      async ({ orderId }: { orderId: string }) => {
        if (store.mark(orderId, state)) log(`order ${orderId} ${state}`);
        else log(`order ${orderId} ${state}, but it was placed before this instance started`);
      };
    const subscriptions = [
      bus.subscribe(OrderBilled, report('billed'), { group: 'orders', concurrency: 8 }),
      bus.subscribe(OrderNotified, report('notified'), { group: 'orders', concurrency: 8 }),
      bus.subscribe(OrderReminded, report('reminded'), { group: 'orders', concurrency: 8 }),
    ];
    await Promise.all(subscriptions.map((s) => s.ready));
    const server = await startHttpApi({ bus, store, port, host, log });
    log(`listening on http://${host}:${port}`);
    return async () => {
      // Stop taking orders first; the bus then drains what is in flight.
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
  },
});
