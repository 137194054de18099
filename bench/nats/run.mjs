// NATS benchmark (issue 6): Courier-over-NATS against the raw
// @nats-io/jetstream client on the same workload, in one run, as ratios.
//
//   npx tsc -b && node bench/nats/run.mjs [--url nats://127.0.0.1:4222] [--messages 20000] [--inflight 100] [--rounds 5]
//
// Workload: publish `messages` messages of 1 KiB with `inflight` publishes
// awaiting their PubAck at a time (each confirmed), then consume them all
// with a durable group (pull consumer) of `inflight` credit that acks each
// one. The raw side publishes with a Nats-Msg-Id too, so that both ask the
// server for the same work (dedup included). Each round runs raw then
// Courier on fresh streams (alternating which goes first, after one
// warm-up of each); the table reports the median round: throughput, and
// this process's CPU time per message (user + system), which shared-machine
// noise moves far less than throughput.
//
// Runs against the built packages (packages/*/dist): run `npx tsc -b` first.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connect } from '@courier/core';
import { natsTransport } from '@courier/nats';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'nats://127.0.0.1:4222' },
    messages: { type: 'string', default: '20000' },
    inflight: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
  },
});
const URL = values.url;
const MESSAGES = Number(values.messages);
const IN_FLIGHT = Number(values.inflight);
const ROUNDS = Number(values.rounds);
const PAYLOAD = new Uint8Array(1024).fill(97);

const tag = () => randomUUID().replaceAll('-', '').slice(0, 10);

/** Runs `send(i)` for i in [0, n) with at most `width` in flight. */
async function windowed(n, width, send) {
  let next = 0;
  const lane = async () => {
    while (next < n) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}

/** Starts a measurement; the returned function gives msgs/s and this process's CPU µs per message. */
function measure() {
  const cpu = process.cpuUsage();
  const start = performance.now();
  return () => {
    const used = process.cpuUsage(cpu);
    return {
      rate: MESSAGES / ((performance.now() - start) / 1000),
      cpu: (used.user + used.system) / MESSAGES,
    };
  };
}

async function raw() {
  // The same client options the transport uses (no per-request stack capture), so that only Courier differs.
  const nc = await natsConnect({ servers: URL, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const name = `BENCH_RAW_${tag()}`;
  const subject = `${name.toLowerCase()}.orders.created`;
  await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`], duplicate_window: 120e9 });
  try {
    const p = measure();
    await windowed(MESSAGES, IN_FLIGHT, (i) => js.publish(subject, PAYLOAD, { msgID: `${name}-${i}` }));
    const publish = p();
    await jsm.consumers.add(name, {
      durable_name: 'g',
      ack_policy: AckPolicy.Explicit,
      filter_subject: subject,
    });
    const consumer = await js.consumers.get(name, 'g');
    const c = measure();
    let got = 0;
    const messages = await consumer.consume({ max_messages: IN_FLIGHT });
    for await (const m of messages) {
      m.ack();
      if (++got === MESSAGES) break;
    }
    const consume = c();
    await messages.close();
    return { publish, consume };
  } finally {
    await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
  }
}

async function courier() {
  const id = tag();
  const stream = `BENCH_COURIER_${id}`;
  const transport = await natsTransport({ servers: URL, stream, prefix: `bench_${id}` });
  const bus = await connect(transport, { service: 'bench' });
  try {
    const p = measure();
    await windowed(MESSAGES, IN_FLIGHT, () => bus.publish('orders.created', PAYLOAD));
    const publish = p();
    let got = 0;
    let done;
    const all = new Promise((resolve) => {
      done = resolve;
    });
    const c = measure();
    const sub = bus.subscribe(
      'orders.created',
      () => {
        if (++got === MESSAGES) done();
      },
      { group: 'g', deliver: 'all', concurrency: IN_FLIGHT },
    );
    await all;
    const consume = c();
    await sub.close();
    return { publish, consume };
  } finally {
    await bus.close();
    const nc = await natsConnect({ servers: URL });
    const jsm = await jetstreamManager(nc);
    for (const suffix of ['', '_DLQ', '_REPLAY'])
      await jsm.streams.delete(`${stream}${suffix}`).catch(() => undefined);
    await nc.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rounds = { raw: [], courier: [] };
// One warm-up of each (JIT, connections, server caches), then rounds in alternating order.
await raw();
await courier();
for (let r = 0; r < ROUNDS; r++) {
  if (r % 2 === 0) {
    rounds.raw.push(await raw());
    rounds.courier.push(await courier());
  } else {
    rounds.courier.push(await courier());
    rounds.raw.push(await raw());
  }
}
const row = (phase) => {
  const pick = (side, field) => median(rounds[side].map((x) => x[phase][field]));
  return {
    phase,
    raw: pick('raw', 'rate'),
    courier: pick('courier', 'rate'),
    rawCpu: pick('raw', 'cpu'),
    courierCpu: pick('courier', 'cpu'),
  };
};
const rows = [row('publish'), row('consume')];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `\nNATS JetStream (${URL}): ${MESSAGES.toLocaleString('en-US')} x 1 KiB, ${IN_FLIGHT} in flight, median of ${ROUNDS} rounds\n`,
);
console.log(
  '| workload | raw msg/s | courier msg/s | courier / raw | raw CPU µs/msg | courier CPU µs/msg | CPU courier / raw |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const label = {
  publish: 'publish, each PubAck awaited',
  consume: 'consume with a group, each acked',
};
for (const r of rows) {
  console.log(
    `| ${label[r.phase]} | ${fmt(r.raw)} | ${fmt(r.courier)} | ${(r.courier / r.raw).toFixed(2)} | ${r.rawCpu.toFixed(1)} | ${r.courierCpu.toFixed(1)} | ${(r.courierCpu / r.rawCpu).toFixed(2)} |`,
  );
}
console.log(
  '\nThroughput shares the machine with nats-server (and anything else running); client CPU per message is the steadier measure of what the adapter costs.',
);
