/**
 * loadgen: places orders against the orders API at `LOADGEN_RATE` per
 * second (default 2; 0 places none), mostly SKUs the shop sells and now and
 * then one it does not (a 409), and prints a summary every 10 seconds.
 * It is an HTTP client only: it shows the shop from a customer's side.
 */
import { CourierError } from '@courier/core';
import { CATALOG, numberFromEnv } from '@courier/shop-contracts';

const rate = numberFromEnv(process.env, 'LOADGEN_RATE', 2);
const target =
  process.env['ORDERS_URL'] ?? `http://127.0.0.1:${numberFromEnv(process.env, 'ORDERS_PORT', 3000)}`;
const skus = [...Object.keys(CATALOG), 'Z'];

const counts = new Map<number | string, number>();
const inFlight = new Set<Promise<void>>();

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function placeOne(): Promise<void> {
  const sku = skus[Math.floor(Math.random() * skus.length)] ?? 'A';
  const qty = 1 + Math.floor(Math.random() * 3);
  try {
    const res = await fetch(`${target}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku, qty }),
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
  } catch (error) {
    const name = (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
}

function place(): void {
  const placing = placeOne();
  inFlight.add(placing);
  void placing.finally(() => inFlight.delete(placing));
}

function summary(): string {
  const parts = [...counts.entries()].map(([status, n]) => `${n} x ${status}`);
  counts.clear();
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

if (!(rate >= 0)) {
  throw new CourierError(
    'INVALID_OPTION',
    `LOADGEN_RATE must be 0 or more orders per second, got ${rate}; try LOADGEN_RATE=2`,
  );
}
const timers: NodeJS.Timeout[] = [];
if (rate > 0) {
  timers.push(setInterval(place, 1000 / rate));
  timers.push(
    setInterval(() => log(`last 10s: ${summary()} (201 placed, 409 refused by inventory)`), 10_000),
  );
  log(`placing ${rate} order(s) per second on ${target}; LOADGEN_RATE=0 for none`);
} else {
  log('LOADGEN_RATE=0: placing no orders');
  process.exit(0);
}

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  for (const timer of timers) clearInterval(timer);
  // Let the orders already sent get their answers, then leave.
  void Promise.allSettled([...inFlight]).then(() => {
    log('stopped');
    process.exit(0);
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
process.send?.({ ready: true });
