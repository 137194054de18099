// Courier over AMQP 1.0 against the raw rhea client, on the same workload:
// N publishes of 1 KiB with 100 in flight, each confirmed by the broker
// (accepted outcome), then one group consuming them all with 100 in flight,
// settling each (accepted). Run `npx tsc -b` first; this imports the built
// packages. On RabbitMQ (127.0.0.1:5672, guest/guest, rabbitmq_amqp1_0
// enabled) and, if built by packages/amqp10/ci/setup.sh, on a private Qpid
// Proton example broker. Usage: node bench/amqp10/run.mjs [N]
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compare, measure, printTable, windowed } from '../lib/harness.mjs';

const require = createRequire(new URL('../../packages/amqp10/package.json', import.meta.url));
const rhea = require('rhea');
const amqplib = require('amqplib');
const { connect } = await import('../../packages/core/dist/index.js');
const { amqp10Transport } = await import('../../packages/amqp10/dist/index.js');

const N = Number(process.argv[2] ?? 20_000);
const WINDOW = 100;
const PAYLOAD = new Uint8Array(1024).fill(7);
const PROTON = process.env.COURIER_PROTON_BROKER ?? '/tmp/courier-amqp10/proton-broker';

async function courier(target) {
  const run = `bench-${randomUUID().slice(0, 8)}`;
  const transport = await amqp10Transport({ ...target.options, prefix: run, exchange: `${run}.x` });
  const bus = await connect(transport, { service: 'bench', onError: () => undefined });
  const subject = `${run}.orders`;
  let done;
  const finished = new Promise((resolve) => {
    done = resolve;
  });
  let received = 0;
  // The group exists before the publishes, so its queue holds them all.
  const consumerBus = await connect(
    await amqp10Transport({ ...target.options, prefix: run, exchange: `${run}.x` }),
    { service: 'bench' },
  );
  let gate;
  const open = new Promise((resolve) => {
    gate = resolve;
  });
  const sub = consumerBus.subscribe(
    subject,
    async () => {
      await open;
      if (++received === N) done();
    },
    { group: 'bench', concurrency: WINDOW },
  );
  await sub.ready;
  const p = measure(N);
  await windowed(N, WINDOW, () => bus.publish(subject, PAYLOAD));
  const publish = p();
  const c = measure(N);
  gate();
  await finished;
  const consume = c();
  await consumerBus.close();
  await bus.close();
  if (target.cleanup) await target.cleanup(run);
  return { publish, consume };
}

function rheaConnect(options) {
  return new Promise((resolve, reject) => {
    const c = rhea.create_container().connect({
      host: options.host,
      port: options.port,
      username: options.username,
      password: options.password,
      reconnect: false,
    });
    c.once('connection_open', () => resolve(c));
    c.once('connection_error', reject);
  });
}

async function raw(target) {
  const run = `bench-${randomUUID().slice(0, 8)}`;
  const { publishAddress, sourceAddress, subject } = await target.rawTopology(run);
  const conn = await rheaConnect(target.options);
  // Publish with 100 unsettled at once, counting accepted outcomes.
  const sender = conn.open_sender({ target: { address: publishAddress } });
  await new Promise((resolve) => sender.once('sendable', resolve));
  const p = measure(N);
  await new Promise((resolve) => {
    let sent = 0;
    let confirmed = 0;
    const pump = () => {
      while (sent < N && sent - confirmed < WINDOW && sender.sendable()) {
        sender.send({ subject, durable: true, body: rhea.message.data_section(Buffer.from(PAYLOAD)) });
        sent++;
      }
    };
    sender.on('accepted', () => {
      if (++confirmed === N) resolve();
      else pump();
    });
    sender.on('sendable', pump);
    pump();
  });
  const publish = p();
  const c = measure(N);
  await new Promise((resolve) => {
    let got = 0;
    const receiver = conn.open_receiver({
      source: { address: sourceAddress },
      autoaccept: false,
      credit_window: 0,
    });
    receiver.on('receiver_open', () => receiver.add_credit(WINDOW));
    receiver.on('message', (ctx) => {
      ctx.delivery.accept();
      if (++got === N) resolve();
      else if (receiver.credit === 0) receiver.add_credit(WINDOW);
    });
  });
  const consume = c();
  conn.close();
  if (target.cleanup) await target.cleanup(run);
  return { publish, consume };
}

async function rabbitChannel() {
  const connection = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
  return { connection, channel: await connection.createChannel() };
}

const targets = [
  {
    name: 'RabbitMQ 3 (AMQP 1.0 plugin)',
    options: { host: '127.0.0.1', port: 5672, username: 'guest', password: 'guest', broker: 'rabbitmq' },
    async rawTopology(run) {
      const { connection, channel } = await rabbitChannel();
      await channel.assertExchange(`${run}.x`, 'topic', { durable: true });
      await channel.assertQueue(`${run}.q`, { durable: true });
      await channel.bindQueue(`${run}.q`, `${run}.x`, `${run}.orders`);
      await connection.close();
      return {
        publishAddress: `/exchange/${run}.x`,
        sourceAddress: `/amq/queue/${run}.q`,
        subject: `${run}.orders`,
      };
    },
    async cleanup(run) {
      const { connection, channel } = await rabbitChannel();
      for (const q of [`${run}.q`, `${run}.g.bench.${run}.orders`, `${run}.dlq.bench`])
        await channel.deleteQueue(q);
      await channel.deleteExchange(`${run}.x`);
      await connection.close();
    },
  },
];

let proton;
if (existsSync(PROTON)) {
  const port = 40000 + Math.floor(Math.random() * 20000);
  proton = spawn(PROTON, ['127.0.0.1', String(port)], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve) =>
    proton.stdout.on('data', (d) => String(d).includes('listening') && resolve()),
  );
  targets.push({
    name: 'Qpid Proton example broker',
    options: { host: '127.0.0.1', port, broker: 'queues' },
    async rawTopology(run) {
      return { publishAddress: `${run}.orders`, sourceAddress: `${run}.orders`, subject: `${run}.orders` };
    },
  });
}

const rows = [];
try {
  for (const target of targets) {
    const measured = await compare({
      rounds: 1,
      phases: {
        publish: `${target.name}: publish ${N} x 1 KiB, ${WINDOW} in flight, confirmed`,
        consume: `${target.name}: consume ${N}, one group, ${WINDOW} in flight, acked`,
      },
      raw: () => {
        console.error(`${target.name}: raw rhea...`);
        return raw(target);
      },
      courier: () => {
        console.error(`${target.name}: Courier...`);
        return courier(target);
      },
    });
    rows.push(...measured);
  }
} finally {
  proton?.kill('SIGKILL');
}

printTable({ title: `Courier amqp10 vs raw rhea (${N} messages of 1 KiB)`, rows, raw: 'rhea' });
