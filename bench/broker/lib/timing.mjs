// Timing helpers shared by every workload: a window of N operations in
// flight, an open-loop pacer, percentiles, and a deadline so that one stuck
// peer fails its own figure instead of hanging the whole run.

/** Runs `task(i)` for i in [0, n) with at most `width` of them in flight. */
export async function windowed(n, width, task) {
  let next = 0;
  const lane = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `send(i)` for i in [0, n) at `rate` per second, open loop: each call
 * is due at start + i / rate whatever the previous ones did, so a slow engine
 * shows up as latency rather than as a lower offered rate. Sleeps between
 * ticks instead of spinning, so the pacer leaves the CPU to the engine.
 */
export async function paced(n, rate, send) {
  const start = performance.now();
  let sent = 0;
  while (sent < n) {
    const due = Math.min(n, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    while (sent < due) send(sent++);
    if (sent < n) await sleep(Math.max(0, start + (sent * 1000) / rate - performance.now()));
  }
}

/** The q-quantile (0..1) of numbers, nearest rank. */
export function quantile(values, q) {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Rejects with a message naming `what` when `promise` takes longer than `ms`. */
export async function deadline(promise, ms, what) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise and the function that resolves it. */
export function latch() {
  let open;
  const done = new Promise((resolve) => {
    open = resolve;
  });
  return { done, open };
}
