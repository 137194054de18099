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
import { compare, courierRound, measure, printTable, windowed } from '../lib/harness.mjs';

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

async function raw() {
  // The same client options the transport uses (no per-request stack capture), so that only Courier differs.
  const nc = await natsConnect({ servers: URL, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const name = `BENCH_RAW_${tag()}`;
  const subject = `${name.toLowerCase()}.orders.created`;
  await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`], duplicate_window: 120e9 });
  try {
    const p = measure(MESSAGES);
    await windowed(MESSAGES, IN_FLIGHT, (i) => js.publish(subject, PAYLOAD, { msgID: `${name}-${i}` }));
    const publish = p();
    await jsm.consumers.add(name, {
      durable_name: 'g',
      ack_policy: AckPolicy.Explicit,
      filter_subject: subject,
    });
    const consumer = await js.consumers.get(name, 'g');
    const c = measure(MESSAGES);
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
    return await courierRound(bus, { messages: MESSAGES, inFlight: IN_FLIGHT, payload: PAYLOAD });
  } finally {
    await bus.close();
    const nc = await natsConnect({ servers: URL });
    const jsm = await jetstreamManager(nc);
    for (const suffix of ['', '_DLQ', '_REPLAY'])
      await jsm.streams.delete(`${stream}${suffix}`).catch(() => undefined);
    await nc.close();
  }
}

// One warm-up of each (JIT, connections, server caches), then rounds in alternating order.
const rows = await compare({
  rounds: ROUNDS,
  warmUp: true,
  phases: { publish: 'publish, each PubAck awaited', consume: 'consume with a group, each acked' },
  raw,
  courier,
});
printTable({
  title: `NATS JetStream (${URL}): ${MESSAGES.toLocaleString('en-US')} x 1 KiB, ${IN_FLIGHT} in flight, median of ${ROUNDS} rounds`,
  rows,
  note: 'Throughput shares the machine with nats-server (and anything else running); client CPU per message is the steadier measure of what the adapter costs.',
});
