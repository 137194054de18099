/**
 * billing: charges every order, in the durable group `billing` on
 * `orders.created`. A charge fails at `BILLING_FAIL_RATE` (default 0.1;
 * 1 fails every one) to show retries: each message gets 3 attempts,
 * `BILLING_RETRY_DELAY` apart (default 500ms), and then goes to the group's
 * dead-letter queue, where `courier dlq list|replay --group billing` finds it.
 */
import {
  durationFromEnv,
  numberFromEnv,
  OrderBilled,
  OrderCreated,
  runService,
} from '@courier/shop-contracts';

const failRate = numberFromEnv(process.env, 'BILLING_FAIL_RATE', 0.1);
const retryDelay = durationFromEnv(process.env, 'BILLING_RETRY_DELAY', '500ms');

await runService({
  service: 'billing',
  async start({ bus, log }) {
    log(`declining ${Math.round(failRate * 100)}% of charges (BILLING_FAIL_RATE=${failRate})`);
    const subscription = bus.subscribe(
      OrderCreated,
      async (order, ctx) => {
        if (Math.random() < failRate) {
          log(`charge of ${order.total} for ${order.id} declined (attempt ${ctx.attempt} of 3)`);
          throw new Error(`card declined for order ${order.id} (simulated: BILLING_FAIL_RATE=${failRate})`);
        }
        // The message id makes the confirmation idempotent: a redelivered order is billed once.
        await bus.publish(
          OrderBilled,
          { orderId: order.id, amount: order.total, attempt: ctx.attempt },
          { id: `billed-${order.id}` },
        );
        log(`charged ${order.total} for ${order.id} (attempt ${ctx.attempt})`);
      },
      { group: 'billing', concurrency: 4, retry: { attempts: 3, backoff: 'fixed', delay: retryDelay } },
    );
    await subscription.ready;
    return undefined;
  },
});
