// Courier over RabbitMQ vs raw amqplib on the same workload and the same
// topology (a durable topic exchange, a durable quorum queue bound to it):
// publish N messages of 1 KiB with 100 in flight, each confirmed by the
// broker; then consume them all with a group (prefetch 100) that acks each.
// Prints msgs/s and client CPU µs per message for each side and Courier's
// ratio to raw, the median of 5 alternating rounds. Build first:
//   npx tsc -b && node bench/amqp/run.mjs [--messages 20000] [--size 1024] [--inflight 100]
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { AmqpTransport, groupQueue } from '../../packages/amqp/dist/index.js';
import { connect } from '../../packages/core/dist/index.js';
import { compare, measure, printTable, windowed } from '../lib/harness.mjs';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    size: { type: 'string', default: '1024' },
    inflight: { type: 'string', default: '100' },
    url: { type: 'string', default: process.env.COURIER_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672' },
  },
});
const N = Number(values.messages);
const SIZE = Number(values.size);
const INFLIGHT = Number(values.inflight);
const URL_ = values.url;
const payload = new Uint8Array(SIZE).fill(120);
const tag = randomUUID().slice(0, 8);

async function raw() {
  const exchange = `bench-raw-${tag}`;
  const queue = `bench-raw-${tag}.q`;
  const connection = await amqp.connect(URL_, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(queue, exchange, 'bench.raw');
  const body = Buffer.from(payload);
  const p = measure(N);
  await windowed(
    N,
    INFLIGHT,
    (i) =>
      new Promise((resolve, reject) =>
        channel.publish(
          exchange,
          'bench.raw',
          body,
          {
            persistent: true,
            messageId: String(i),
            contentType: 'application/octet-stream',
            timestamp: Date.now(),
          },
          (error) => (error ? reject(error) : resolve()),
        ),
      ),
  );
  const publish = p();
  const consumer = await connection.createChannel();
  await consumer.prefetch(INFLIGHT);
  const c = measure(N);
  await new Promise((resolve) => {
    let got = 0;
    void consumer.consume(queue, (message) => {
      consumer.ack(message);
      if (++got === N) resolve();
    });
  });
  const consume = c();
  await consumer.close();
  await channel.deleteQueue(queue);
  await channel.deleteExchange(exchange);
  await connection.close();
  return { publish, consume };
}

async function courier() {
  const namespace = `bench-courier-${tag}`;
  const subject = 'bench.courier';
  const group = 'bench';
  const producer = await connect(await AmqpTransport.connect(new URL(URL_), { namespace }), {
    service: 'bench',
  });
  const consumerBus = await connect(await AmqpTransport.connect(new URL(URL_), { namespace }), {
    service: 'bench',
  });
  // Create the group's queue first, as a deployed consumer would have.
  const setup = consumerBus.subscribe(subject, () => undefined, { group });
  await setup.ready;
  await setup.close();
  const p = measure(N);
  await windowed(N, INFLIGHT, () => producer.publish(subject, payload));
  const publish = p();
  const c = measure(N);
  await new Promise((resolve) => {
    let got = 0;
    consumerBus.subscribe(
      subject,
      () => {
        if (++got === N) resolve();
      },
      { group, concurrency: INFLIGHT },
    );
  });
  const consume = c();
  await producer.close();
  await consumerBus.close();
  const connection = await amqp.connect(URL_);
  const channel = await connection.createChannel();
  await channel.deleteQueue(groupQueue(namespace, group, subject));
  for (const exchange of [namespace, `${namespace}.rpc`, `${namespace}.wait`])
    await channel.deleteExchange(exchange);
  await connection.close();
  return { publish, consume };
}

const ROUNDS = 5;
const rows = await compare({
  rounds: ROUNDS,
  phases: { publish: 'publish, each confirmed', consume: 'consume with a group, each acked' },
  raw,
  courier,
});
printTable({
  title: `RabbitMQ: ${N} messages of ${SIZE} B, ${INFLIGHT} in flight, quorum queue, persistent, confirmed, median of ${ROUNDS} rounds`,
  rows,
});
