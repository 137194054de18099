// The harness the engine benchmarks share (bench/<engine>/run.mjs): Courier
// against the engine's raw client on the same workload, as ratios. A side is
// an async function that runs the workload once and returns a measurement
// per phase (`publish`, `consume`...). Raw and Courier take turns, the order
// alternating from round to round, because the machine is shared and its load
// drifts; each figure is the median of the rounds. Besides throughput, each
// measurement records this process's CPU time per message (user + system),
// which shared-machine noise moves far less than throughput.

/**
 * @typedef {object} Measurement
 * @property {number} rate messages per second
 * @property {number} cpu this process's CPU time per message, in µs (user + system)
 */

/** @typedef {Record<string, Measurement>} Run one run of a side: a measurement per phase */

/**
 * @typedef {object} Row
 * @property {string} workload what the row measures, as the table shows it
 * @property {Measurement} raw
 * @property {Measurement} courier
 */

/**
 * Runs `task(i)` for i in [0, count) with at most `width` running at once.
 * @param {number} count
 * @param {number} width
 * @param {(i: number) => Promise<unknown>} task
 * @returns {Promise<void>}
 */
export async function windowed(count, width, task) {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
}

/**
 * Starts measuring `count` messages; call the returned function when they are done.
 * @param {number} count
 * @returns {() => Measurement}
 */
export function measure(count) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  return () => {
    const used = process.cpuUsage(cpu);
    return {
      rate: count / ((performance.now() - start) / 1000),
      cpu: (used.user + used.system) / count,
    };
  };
}

/**
 * The Courier side of an adapter bench: publishes `messages` with `inFlight`
 * in flight, each confirmed, then consumes them all with one group that acks.
 * @param {import('@courier/core').Bus} bus
 * @param {{ messages: number, inFlight: number, payload: Uint8Array }} options
 * @returns {Promise<{ publish: Measurement, consume: Measurement }>}
 */
export async function courierRound(bus, { messages, inFlight, payload }) {
  const p = measure(messages);
  await windowed(messages, inFlight, () => bus.publish('orders.created', payload));
  const publish = p();
  let got = 0;
  let done;
  const all = new Promise((resolve) => {
    done = resolve;
  });
  const c = measure(messages);
  const sub = bus.subscribe(
    'orders.created',
    () => {
      if (++got === messages) done();
    },
    { group: 'g', deliver: 'all', concurrency: inFlight },
  );
  await all;
  const consume = c();
  await sub.close();
  return { publish, consume };
}

/**
 * The median of `values` (the upper one of an even count).
 * @param {readonly number[]} values
 * @returns {number}
 */
export function median(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/**
 * Runs both sides `rounds` times, alternating which goes first, and returns
 * the median of each phase. `warmUp` runs first and is not counted: `true`
 * runs each side once, a function runs that (a smaller workload, say).
 * @param {object} spec
 * @param {number} spec.rounds
 * @param {Record<string, string>} spec.phases each phase's workload label, in table order
 * @param {() => Promise<Run>} spec.raw
 * @param {() => Promise<Run>} spec.courier
 * @param {boolean | (() => Promise<unknown>)} [spec.warmUp]
 * @returns {Promise<Row[]>}
 */
export async function compare({ rounds, phases, raw, courier, warmUp = false }) {
  if (warmUp === true) {
    await raw();
    await courier();
  } else if (warmUp) {
    await warmUp();
  }
  /** @type {{ raw: Run[], courier: Run[] }} */
  const runs = { raw: [], courier: [] };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      runs.raw.push(await raw());
      runs.courier.push(await courier());
    } else {
      runs.courier.push(await courier());
      runs.raw.push(await raw());
    }
  }
  /** @param {Run[]} side @param {string} phase @returns {Measurement} */
  const pick = (side, phase) => ({
    rate: median(side.map((run) => run[phase].rate)),
    cpu: median(side.map((run) => run[phase].cpu)),
  });
  return Object.entries(phases).map(([phase, workload]) => ({
    workload,
    raw: pick(runs.raw, phase),
    courier: pick(runs.courier, phase),
  }));
}

/**
 * Prints the comparison as a Markdown table under `title`, then `note` if any.
 * @param {object} table
 * @param {string} table.title
 * @param {readonly Row[]} table.rows
 * @param {string} [table.raw] what the raw side is called in the header
 * @param {string} [table.note]
 */
export function printTable({ title, rows, raw = 'raw', note }) {
  const fmt = (/** @type {number} */ n) => Math.round(n).toLocaleString('en-US');
  console.log(`\n${title}\n`);
  console.log(
    `| workload | ${raw} msg/s | courier msg/s | courier / ${raw} | ${raw} CPU µs/msg | courier CPU µs/msg | CPU courier / ${raw} |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.workload} | ${fmt(r.raw.rate)} | ${fmt(r.courier.rate)} | ${(r.courier.rate / r.raw.rate).toFixed(2)} | ${r.raw.cpu.toFixed(1)} | ${r.courier.cpu.toFixed(1)} | ${(r.courier.cpu / r.raw.cpu).toFixed(2)} |`,
    );
  }
  if (note !== undefined) console.log(`\n${note}`);
}
