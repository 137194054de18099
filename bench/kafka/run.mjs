// Kafka benchmark (issue 7): Courier-over-Kafka against the raw
// @confluentinc/kafka-javascript client on the same workload, in one run, as ratios.
//
//   npx tsc -b && node bench/kafka/run.mjs [--brokers host:9092] [--messages 16000] [--inflight 100] [--rounds 3]
//
// Without --brokers it starts librdkafka's mock cluster (packages/testkit/kafka-mock),
// which is in memory: the figures measure the clients, not a disk. The mock
// keeps at most 5 MiB per partition (4 partitions per topic), dropping the
// oldest records beyond it, so the default stays at 16,000 x 1 KiB; a larger
// run needs a real cluster.
//
// Workload: publish `messages` messages of 1 KiB with `inflight` publishes
// awaiting their ack (acks=all) at a time, then consume them all with a new
// consumer group that acks each one (Courier: `concurrency: inflight`, commits
// after each ack; raw: batches of `inflight`, an async commit after each
// batch). Both producers use the same settings (idempotent, linger 5 ms).
// Each round runs raw then Courier on fresh topics (alternating which goes
// first, after one warm-up of each); the table reports the median round:
// throughput, and this process's CPU time per message (user + system).
//
// Runs against the built packages (packages/*/dist): run `npx tsc -b` first.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '@courier/core';
import { kafkaTransport } from '@courier/kafka';

const require = createRequire(fileURLToPath(new URL('../../packages/kafka/package.json', import.meta.url)));
const Kafka = require('@confluentinc/kafka-javascript');

const { values } = parseArgs({
  options: {
    brokers: { type: 'string' },
    messages: { type: 'string', default: '16000' },
    inflight: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
});
const MESSAGES = Number(values.messages);
const IN_FLIGHT = Number(values.inflight);
const ROUNDS = Number(values.rounds);
const PAYLOAD = Buffer.alloc(1024, 97);

let mock;
let brokers = values.brokers;
if (!brokers) {
  const dir = fileURLToPath(new URL('../../packages/testkit/kafka-mock/', import.meta.url));
  execFileSync('bash', [`${dir}build.sh`], { stdio: 'inherit' });
  mock = spawn(`${dir}bin/mock-cluster`, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  brokers = await new Promise((resolve) =>
    mock.stdout.once('data', (d) => resolve(String(d).split('\n')[0])),
  );
}
// Short sessions: the mock waits a session timeout for members to rejoin a group.
const timing = values.brokers ? {} : { sessionTimeout: 2000, heartbeatInterval: 100 };
const base = {
  'bootstrap.servers': brokers,
  log_level: 3,
  ...(values.brokers ? {} : { 'session.timeout.ms': 2000, 'heartbeat.interval.ms': 100 }),
};

const tag = () => randomUUID().replaceAll('-', '').slice(0, 10);

async function windowed(n, width, send) {
  let next = 0;
  const lane = async () => {
    while (next < n) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}

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

const call = (fn) =>
  new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));

async function raw() {
  const topic = `bench-raw-${tag()}`;
  const producer = new Kafka.Producer({
    ...base,
    acks: -1,
    'enable.idempotence': true,
    dr_cb: true,
    partitioner: 'murmur2_random',
    'linger.ms': 5,
    'sticky.partitioning.linger.ms': 0,
  });
  const pending = new Map();
  let seq = 0;
  producer.on('delivery-report', (error, report) => {
    const done = pending.get(report.opaque);
    pending.delete(report.opaque);
    if (error) done?.reject(error);
    else done?.resolve();
  });
  await call((cb) => producer.connect({}, cb));
  producer.setPollInBackground(true);
  const p = measure();
  await windowed(
    MESSAGES,
    IN_FLIGHT,
    () =>
      new Promise((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve, reject });
        producer.produce(topic, null, PAYLOAD, null, Date.now(), id, [{ ce_id: randomUUID() }]);
      }),
  );
  const publish = p();
  await call((cb) => producer.disconnect(cb));

  const consumer = new Kafka.KafkaConsumer(
    { ...base, 'group.id': `g-${tag()}`, 'enable.auto.commit': false },
    { 'auto.offset.reset': 'earliest' },
  );
  await call((cb) => consumer.connect({}, cb));
  consumer.setDefaultConsumeTimeout(100);
  consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
  consumer.subscribe([topic]);
  const c = measure();
  let got = 0;
  while (got < MESSAGES) {
    const batch = await new Promise((resolve) => consumer.consume(IN_FLIGHT, (e, m) => resolve(e ? [] : m)));
    got += batch.length;
    const last = new Map();
    for (const m of batch)
      last.set(`${m.topic}/${m.partition}`, { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
    if (last.size > 0) consumer.commit([...last.values()]);
  }
  const consume = c();
  await call((cb) => consumer.disconnect(cb));
  return { publish, consume };
}

async function courier() {
  const prefix = `bench-c-${tag()}.`;
  const transport = await kafkaTransport({ brokers: brokers.split(','), topicPrefix: prefix, ...timing });
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
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rounds = { raw: [], courier: [] };
try {
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
} finally {
  mock?.stdin.end();
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
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `\nKafka (${values.brokers ? brokers : `librdkafka mock cluster ${brokers}`}, librdkafka ${Kafka.librdkafkaVersion}): ${MESSAGES.toLocaleString('en-US')} x 1 KiB, ${IN_FLIGHT} in flight, median of ${ROUNDS} rounds\n`,
);
console.log(
  '| workload | raw msg/s | courier msg/s | courier / raw | raw CPU µs/msg | courier CPU µs/msg | CPU courier / raw |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const label = {
  publish: 'publish, each ack (acks=all) awaited',
  consume: 'consume with a new group, each acked',
};
for (const r of [row('publish'), row('consume')]) {
  console.log(
    `| ${label[r.phase]} | ${fmt(r.raw)} | ${fmt(r.courier)} | ${(r.courier / r.raw).toFixed(2)} | ${r.rawCpu.toFixed(1)} | ${r.courierCpu.toFixed(1)} | ${(r.courierCpu / r.rawCpu).toFixed(2)} |`,
  );
}
console.log(
  "\nThe mock cluster runs in this machine's memory and shares its 2 cores with the clients; client CPU per message is the steadier measure of what the adapter costs.",
);
