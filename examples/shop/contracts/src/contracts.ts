/**
 * The shop's contracts: every subject the services exchange, with its zod
 * schema. Services import these and nothing else of each other, so the
 * types of a message flow from the publisher to every handler.
 */
import { event, rpc } from '@courier/core';
import { z } from 'zod';

/** Reserves stock for an order; answered by one instance of `inventory`. */
export const Reserve = rpc('inventory.reserve', {
  request: z.object({ sku: z.string().min(1), qty: z.number().int().positive() }),
  response: z.object({
    ok: z.boolean(),
    /** Set when `ok`: the reservation's id. */
    reservationId: z.string().optional(),
    /** The inventory instance that answered (two run, to show load balancing). */
    instance: z.string(),
    /** Set when `ok`: the price of one item. */
    unitPrice: z.number().optional(),
    /** Set when not `ok`: why. */
    reason: z.string().optional(),
  }),
});

/** An order was accepted and its stock reserved; billing and notifications each handle it in their group. */
export const OrderCreated = event(
  'orders.created',
  z.object({
    id: z.string(),
    sku: z.string(),
    qty: z.number().int().positive(),
    total: z.number(),
    reservationId: z.string(),
  }),
);

/** Billing charged an order. */
export const OrderBilled = event(
  'orders.billed',
  z.object({ orderId: z.string(), amount: z.number(), attempt: z.number().int() }),
);

/** Notifications sent the order confirmation. */
export const OrderNotified = event('orders.notified', z.object({ orderId: z.string() }));

/** A reminder notifications publishes to itself with a `delay`. */
export const ReminderDue = event('notifications.reminder', z.object({ orderId: z.string() }));

/** Notifications sent the delayed reminder. */
export const OrderReminded = event('orders.reminded', z.object({ orderId: z.string() }));

/** What the shop sells: SKU to unit price. Inventory reserves these, and refuses anything else. */
export const CATALOG: Readonly<Record<string, number>> = Object.freeze({ A: 4.5, B: 12, C: 30 });

/** The most items of one SKU a single order may reserve. */
export const MAX_QTY_PER_ORDER = 10;
