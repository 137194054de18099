/**
 * The orders service's view of each order: what it placed, and what the
 * other services have reported back by events. Kept in memory, so it is
 * lost when the service restarts (the messages themselves are not: they
 * live in the engine).
 */

/** The state each service has reported for an order. */
export interface OrderState {
  /** inventory reserved the stock (known before the order exists). */
  reserved: boolean;
  /** billing published `orders.billed`. */
  billed: boolean;
  /** notifications published `orders.notified`. */
  notified: boolean;
  /** notifications sent the delayed reminder (`orders.reminded`). */
  reminded: boolean;
}

/** An order as `GET /orders/:id` returns it. */
export interface Order {
  id: string;
  sku: string;
  qty: number;
  total: number;
  /** Which inventory instance reserved it, and the reservation's id. */
  reservation: { id: string; instance: string };
  state: OrderState;
  createdAt: string;
}

/** The most recent orders, in memory. */
export class OrderStore {
  readonly #orders = new Map<string, Order>();
  readonly #limit: number;

  /** Keeps at most `limit` orders, forgetting the oldest first. */
  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  add(order: Order): void {
    this.#orders.set(order.id, order);
    if (this.#orders.size > this.#limit) {
      const oldest = this.#orders.keys().next();
      if (!oldest.done) this.#orders.delete(oldest.value);
    }
  }

  get(id: string): Order | undefined {
    return this.#orders.get(id);
  }

  /** The latest `count` orders, newest first. */
  latest(count: number): Order[] {
    return [...this.#orders.values()].slice(-count).reverse();
  }

  /** Records what a service reported; false when the order is unknown (placed before a restart). */
  mark(id: string, state: 'billed' | 'notified' | 'reminded'): boolean {
    const order = this.#orders.get(id);
    if (!order) return false;
    order.state[state] = true;
    return true;
  }
}
