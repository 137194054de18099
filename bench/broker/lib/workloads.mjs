// The workloads of issue 5, written once against a small target interface
// that each engine implements with its own official client (targets/*.mjs):
//
//   target.publisher(stream)  -> { publish(bytes): Promise (resolves on the engine's confirmation), close() }
//   target.consumer(stream, { credit, fromStart, onMessage(bytes) })
//                             -> { close() }   one durable group; each message acked after onMessage returns
//   target.rpc(reply)         -> { request(bytes): Promise<bytes>, close() }   a responder answering `reply`
//   target.rpcSkip            -> why the engine has no request-reply figure (instead of rpc)
//
// `stream` is a short role name ('throughput', 'latency'); each target maps
// it to names of its own that no other run or peer uses.
import { deadline, latch, paced, quantile, windowed } from './timing.mjs';

/** A payload of `size` bytes whose first four carry `index` (little endian), so a handler knows which send it answers. */
export function stamped(size, index) {
  const bytes = new Uint8Array(size).fill(97);
  bytes[0] = index & 0xff;
  bytes[1] = (index >>> 8) & 0xff;
  bytes[2] = (index >>> 16) & 0xff;
  bytes[3] = (index >>> 24) & 0xff;
  return bytes;
}

function stampOf(bytes) {
  return (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
}

/** Confirmed publish of `count` messages of `size` bytes with `inflight` unconfirmed at a time, in messages/s. */
export async function publishThroughput(target, { count, inflight, size }) {
  const payload = stamped(size, 0);
  const publisher = await target.publisher('throughput');
  try {
    const start = performance.now();
    await windowed(count, inflight, () => publisher.publish(payload));
    return { publish: count / ((performance.now() - start) / 1000) };
  } finally {
    await publisher.close();
  }
}

/** A new group reads the `count` messages published above from the start, acking each; messages/s (attach included). */
export async function consumeThroughput(target, { count, inflight }) {
  const all = latch();
  let got = 0;
  const start = performance.now();
  const consumer = await target.consumer('throughput', {
    credit: inflight,
    fromStart: true,
    onMessage: () => {
      if (++got === count) all.open();
    },
  });
  try {
    await all.done;
    return { consume: count / ((performance.now() - start) / 1000) };
  } finally {
    await consumer.close();
  }
}

/**
 * Publish-to-handler latency at a steady `rate`: a group is attached, then
 * `warmup + count` messages are published open loop, each confirmed in the
 * background; a message's latency runs from the publish call to its handler.
 * The first `warmup` are left out. Returns p50 and p99 in milliseconds.
 */
export async function publishToHandler(target, { rate, count, warmup, size }) {
  const total = warmup + count;
  const sentAt = new Float64Array(total);
  const latency = new Float64Array(total);
  const all = latch();
  let got = 0;
  const publisher = await target.publisher('latency');
  try {
    const consumer = await target.consumer('latency', {
      credit: 100,
      fromStart: false,
      onMessage: (bytes) => {
        const i = stampOf(bytes);
        latency[i] = performance.now() - sentAt[i];
        if (++got === total) all.open();
      },
    });
    try {
      const confirms = [];
      await paced(total, rate, (i) => {
        const bytes = stamped(size, i);
        sentAt[i] = performance.now();
        confirms.push(publisher.publish(bytes));
      });
      await Promise.all(confirms);
      await all.done;
      const measured = latency.subarray(warmup);
      return { latencyP50: quantile(measured, 0.5), latencyP99: quantile(measured, 0.99) };
    } finally {
      await consumer.close();
    }
  } finally {
    await publisher.close();
  }
}

/**
 * Request-reply: throughput with `inflight` requests outstanding (requests/s),
 * then round-trip latency one request at a time (p50, p99 in ms, after
 * `warmup` unmeasured requests).
 */
export async function requestReply(target, { requests, inflight, samples, warmup, size }) {
  const reply = stamped(size, 1);
  const request = stamped(size, 2);
  const rpc = await target.rpc(reply);
  try {
    await windowed(warmup, inflight, () => rpc.request(request));
    let start = performance.now();
    await windowed(requests, inflight, () => rpc.request(request));
    const rate = requests / ((performance.now() - start) / 1000);
    for (let i = 0; i < warmup; i++) await rpc.request(request);
    const rtt = new Float64Array(samples);
    for (let i = 0; i < samples; i++) {
      start = performance.now();
      const answer = await rpc.request(request);
      rtt[i] = performance.now() - start;
      if (answer.length !== size) throw new Error(`a reply of ${answer.length} bytes, expected ${size}`);
    }
    return { rpcRate: rate, rpcP50: quantile(rtt, 0.5), rpcP99: quantile(rtt, 0.99) };
  } finally {
    await rpc.close();
  }
}

/** The figures this bench reports, in table order. */
export const FIGURES = [
  { key: 'publish', label: 'confirmed publish, msg/s', better: 'higher' },
  { key: 'consume', label: 'consume + ack, msg/s', better: 'higher' },
  { key: 'latencyP50', label: 'publish→handler p50, ms', better: 'lower' },
  { key: 'latencyP99', label: 'publish→handler p99, ms', better: 'lower' },
  { key: 'rpcRate', label: 'request-reply, req/s', better: 'higher' },
  { key: 'rpcP50', label: 'request-reply p50, ms', better: 'lower' },
  { key: 'rpcP99', label: 'request-reply p99, ms', better: 'lower' },
];

const KEYS = {
  publish: ['publish'],
  consume: ['consume'],
  latency: ['latencyP50', 'latencyP99'],
  rpc: ['rpcRate', 'rpcP50', 'rpcP99'],
};

const shown = (key, value) =>
  key.endsWith('P50') || key.endsWith('P99') ? value.toFixed(3) : Math.round(value);

/**
 * Runs every workload against one target, in order; a workload that fails or
 * overruns its deadline records its error and the next one still runs.
 */
export async function runWorkloads(target, options, log) {
  const figures = {};
  /** Per workload: wall seconds, CPU seconds of this process and (when known) of the server process. */
  const usage = {};
  const errors = {};
  const fail = (workload, reason) => {
    for (const key of KEYS[workload]) errors[key] = reason;
  };
  const step = async (workload, work) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const serverCpu = target.serverCpu?.();
    try {
      const values = await deadline(work(), options.deadlineMs, `${target.name} ${workload}`);
      Object.assign(figures, values);
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      // Where the time went: CPU seconds of this process, and of the server process when the target knows it.
      const serverNow = target.serverCpu?.();
      usage[workload] = {
        wall: seconds,
        bench: (used.user + used.system) / 1e6,
        server: serverCpu !== undefined && serverNow !== undefined ? serverNow - serverCpu : undefined,
      };
      const spent = [`bench process CPU ${usage[workload].bench.toFixed(1)} s`];
      if (usage[workload].server !== undefined)
        spent.push(`server CPU ${usage[workload].server.toFixed(1)} s`);
      const text = Object.entries(values).map(([key, value]) => `${key} ${shown(key, value)}`);
      log(`  ${workload}: ${text.join(', ')} (${seconds.toFixed(1)} s; ${spent.join(', ')})`);
    } catch (error) {
      fail(workload, error.message);
      log(`  ${workload}: FAILED: ${error.message}`);
    }
  };
  const chosen = (workload) => options.workloads.includes(workload);
  if (chosen('publish')) await step('publish', () => publishThroughput(target, options.publish));
  if (chosen('consume')) {
    if (figures.publish !== undefined)
      await step('consume', () => consumeThroughput(target, options.publish));
    else fail('consume', 'nothing to consume: the publish workload failed or did not run');
  }
  if (chosen('latency')) await step('latency', () => publishToHandler(target, options.latency));
  if (!chosen('rpc')) return { figures, errors, usage };
  if (target.rpcSkip) {
    fail('rpc', target.rpcSkip);
    log(`  rpc: skipped: ${target.rpcSkip}`);
  } else {
    await step('rpc', () => requestReply(target, options.rpc));
  }
  return { figures, errors, usage };
}
