/**
 * notifications: confirms every order (group `notifications` on
 * `orders.created`) and schedules a reminder with `delay`
 * (`REMINDER_DELAY`, default 30s), which the engine holds and this service
 * handles when it is due, even across restarts.
 */
import {
  durationFromEnv,
  OrderCreated,
  OrderNotified,
  OrderReminded,
  ReminderDue,
  runService,
} from '@courier/shop-contracts';

const reminderText = process.env['REMINDER_DELAY'] || '30s';
const reminderDelay = durationFromEnv(process.env, 'REMINDER_DELAY', '30s');

await runService({
  service: 'notifications',
  async start({ bus, log }) {
    const confirmations = bus.subscribe(
      OrderCreated,
      async (order) => {
        log(`confirmation sent for ${order.id}; reminder in ${reminderText}`);
        await bus.publish(OrderNotified, { orderId: order.id }, { id: `notified-${order.id}` });
        await bus.publish(
          ReminderDue,
          { orderId: order.id },
          { id: `reminder-${order.id}`, delay: reminderDelay },
        );
      },
      { group: 'notifications', concurrency: 4 },
    );
    const reminders = bus.subscribe(
      ReminderDue,
      async ({ orderId }) => {
        log(`reminder sent for ${orderId}`);
        await bus.publish(OrderReminded, { orderId }, { id: `reminded-${orderId}` });
      },
      { group: 'notifications', concurrency: 4 },
    );
    await Promise.all([confirmations.ready, reminders.ready]);
    return undefined;
  },
});
