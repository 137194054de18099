// Courier over STOMP (ActiveMQ Classic) against the raw STOMP client underneath it,
// on one workload: N persistent publishes of 1 KiB with 100 in flight, each
// confirmed by a RECEIPT, then consumed by one group (a virtual-topic consumer
// queue) that acks each one. Prints msgs/s for both and Courier's ratio.
//
//   npx tsc -b && node bench/stomp/run.mjs            (starts a private ActiveMQ)
//   STOMP_PORT=61613 node bench/stomp/run.mjs         (uses a running broker)
//   BENCH_N=20000 node bench/stomp/run.mjs
import { randomUUID } from 'node:crypto';
import { connect } from '../../packages/core/dist/index.js';
import { StompConnection, StompTransport } from '../../packages/stomp/dist/index.js';
import { compare, measure, printTable, windowed } from '../lib/harness.mjs';
import { startBroker } from './broker.mjs';

const N = Number(process.env.BENCH_N ?? 20_000);
const IN_FLIGHT = 100;
const payload = new Uint8Array(1024).fill(120);

const broker = process.env.STOMP_PORT
  ? { host: '127.0.0.1', port: Number(process.env.STOMP_PORT), stop: async () => undefined }
  : await startBroker();

async function raw(N) {
  const options = { host: broker.host, port: broker.port, maxBody: 16 * 1024 * 1024 };
  const c = await StompConnection.open(options);
  const subject = `bench.raw.${randomUUID().slice(0, 8)}`;
  const queue = `/queue/Consumer.g.VirtualTopic.${subject}`;
  await c.call('SUBSCRIBE', { id: 'pre', destination: queue });
  await c.call('UNSUBSCRIBE', { id: 'pre' });
  const p = measure(N);
  await windowed(N, IN_FLIGHT, () =>
    c.call('SEND', { destination: `/topic/VirtualTopic.${subject}`, persistent: 'true' }, payload),
  );
  const publish = p();
  const t = measure(N);
  let got = 0;
  await new Promise((resolve) => {
    c.route('sub', (frame) => {
      c.send('ACK', { id: frame.headers.ack });
      if (++got === N) resolve();
    });
    c.send('SUBSCRIBE', {
      id: 'sub',
      destination: queue,
      ack: 'client-individual',
      'activemq.prefetchSize': String(IN_FLIGHT),
    });
  });
  const consume = t();
  await c.disconnect();
  return { publish, consume };
}

async function courier(N) {
  const bus = await connect(await StompTransport.connect({ host: broker.host, port: broker.port }), {
    service: 'bench',
  });
  const subject = `bench.courier.${randomUUID().slice(0, 8)}`;
  const group = 'g';
  const pre = bus.subscribe(subject, () => undefined, { group });
  await pre.ready;
  await pre.close();
  const p = measure(N);
  await windowed(N, IN_FLIGHT, () => bus.publish(subject, payload));
  const publish = p();
  const t = measure(N);
  let got = 0;
  let done;
  const all = new Promise((resolve) => {
    done = resolve;
  });
  const sub = bus.subscribe(
    subject,
    () => {
      if (++got === N) done();
    },
    { group, concurrency: IN_FLIGHT },
  );
  await all;
  const consume = t();
  await sub.close();
  await bus.close();
  return { publish, consume };
}

try {
  // Warm the JVM and KahaDB first, then two alternating rounds of each; with two rounds the median is the better one.
  const rows = await compare({
    rounds: 2,
    warmUp: async () => {
      await raw(Math.min(2000, N));
      await courier(Math.min(2000, N));
    },
    phases: { publish: 'publish (confirmed)', consume: 'consume with a group, acking' },
    raw: () => raw(N),
    courier: () => courier(N),
  });
  printTable({
    title: `ActiveMQ Classic over STOMP, ${N} messages of 1 KiB, ${IN_FLIGHT} in flight, persistent, every publish confirmed (best of 2 rounds)`,
    rows,
  });
} finally {
  await broker.stop();
}
