// Issue 5's broker bench: the same workloads, in one command and one run,
// against Courier (courier:// with the broker in a child process, and
// embedded://) and the peers on this machine's services with their official
// clients: NATS JetStream, RabbitMQ, and Redis Streams (the shared server and
// a private one with appendfsync always). Prints the figures, Courier's
// ratios to each peer and the issue's targets, and writes bench/RESULTS.md.
//
//   npm run bench                      (builds, then the issue's 100,000 messages)
//   node bench/broker/run.mjs --quick  (10,000 messages, shorter latency runs; a smoke test)
//   node bench/broker/run.mjs --messages 50000 --only courier,nats --no-write
//
// Runs against the built packages (packages/*/dist): `npx tsc -b` first.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { courierRevision, fsyncProbe, machine } from './lib/environment.mjs';
import { figuresTable, ratioTable, resultsMarkdown, targetsTable } from './lib/report.mjs';
import { deadline } from './lib/timing.mjs';
import { runWorkloads } from './lib/workloads.mjs';
import { courierEmbedded, courierTcp } from './targets/courier.mjs';
import { natsTarget } from './targets/nats.mjs';
import { rabbitTarget } from './targets/rabbitmq.mjs';
import { redisTarget } from './targets/redis.mjs';

const USAGE = `usage: node bench/broker/run.mjs [options]

  --messages N        messages published, then consumed (default 100000; --quick 10000)
  --inflight N        publishes awaiting confirmation, and consumer credit (default 1000)
  --size BYTES        message size (default 1024)
  --rate N            messages/s of the latency workload (default 1000)
  --latency-seconds S how long the latency workload publishes (default 5; --quick 2)
  --requests N        requests of the throughput run, with --rpc-inflight in flight (default 20000; --quick 5000)
  --rpc-inflight N    (default 100)
  --rpc-samples N     requests one at a time for p50/p99 (default 5000; --quick 1000)
  --quick             the smaller defaults above: a smoke test in well under a minute
  --only LIST         some of: courier,embedded,nats,rabbitmq,redis-fsync,redis (default all)
  --workloads LIST    some of: publish,consume,latency,rpc (default all; consume needs publish)
  --nats-url URL      (default nats://127.0.0.1:4222)
  --amqp-url URL      (default amqp://guest:guest@127.0.0.1:5672)
  --redis-url URL     the shared Redis (default redis://127.0.0.1:6379)
  --results FILE      where to write the results (default bench/RESULTS.md)
  --no-write          print only
  --broker-cpu-prof DIR  the courier:// broker writes a V8 CPU profile (.cpuprofile) into DIR
  --help`;

const { values: flags } = parseArgs({
  options: {
    messages: { type: 'string' },
    inflight: { type: 'string' },
    size: { type: 'string' },
    rate: { type: 'string' },
    'latency-seconds': { type: 'string' },
    requests: { type: 'string' },
    'rpc-inflight': { type: 'string' },
    'rpc-samples': { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'courier,embedded,nats,rabbitmq,redis-fsync,redis' },
    workloads: { type: 'string', default: 'publish,consume,latency,rpc' },
    'nats-url': { type: 'string', default: 'nats://127.0.0.1:4222' },
    'amqp-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    results: { type: 'string', default: new URL('../RESULTS.md', import.meta.url).pathname },
    'no-write': { type: 'boolean', default: false },
    'broker-cpu-prof': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

function count(name, fallback, quickFallback) {
  const text = flags[name] ?? String(flags.quick ? quickFallback : fallback);
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a whole number of at least 1, got ${JSON.stringify(text)}\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const rate = count('rate', 1000, 1000);
const latencyCount = Math.round(rate * count('latency-seconds', 5, 2));
const options = {
  deadlineMs: 180_000,
  workloads: flags.workloads.split(',').map((name) => name.trim()),
  publish: {
    count: count('messages', 100_000, 10_000),
    inflight: count('inflight', 1000, 1000),
    size: count('size', 1024, 1024),
  },
  latency: {
    rate,
    count: latencyCount,
    warmup: Math.min(1000, Math.ceil(latencyCount / 5)),
    size: count('size', 1024, 1024),
  },
  rpc: {
    requests: count('requests', 20_000, 5_000),
    inflight: count('rpc-inflight', 100, 100),
    samples: count('rpc-samples', 5_000, 1_000),
    warmup: 500,
    size: 128,
  },
};

const tag = randomUUID().replaceAll('-', '').slice(0, 8);
const revision = courierRevision();
const make = {
  courier: () => courierTcp({ tag, version: revision, profileDir: flags['broker-cpu-prof'] }),
  embedded: () => courierEmbedded({ tag, version: revision }),
  nats: () => natsTarget({ url: flags['nats-url'], tag }),
  rabbitmq: () => rabbitTarget({ url: flags['amqp-url'], tag }),
  'redis-fsync': () => redisTarget({ url: flags['redis-url'], tag, fsync: true }),
  redis: () => redisTarget({ url: flags['redis-url'], tag, fsync: false }),
};
const chosen = flags.only.split(',').map((name) => name.trim());
for (const name of chosen) {
  if (!make[name]) {
    console.error(`--only names ${name}, which is not one of ${Object.keys(make).join(', ')}`);
    process.exit(2);
  }
}

const log = (line) => console.error(line);
const started = new Date();
const loadBefore = loadavg();
const fsync = fsyncProbe();
const clock = performance.now();
const results = new Map();
const abouts = new Map();
log(
  `broker bench: ${options.publish.count.toLocaleString('en-US')} × ${options.publish.size} B, ${options.publish.inflight} in flight; latency at ${rate}/s; run ${tag}`,
);
for (const name of Object.keys(make).filter((key) => chosen.includes(key))) {
  const target = make[name]();
  log(`${target.name}`);
  try {
    await deadline(target.open(), 30_000, `connecting to ${target.name}`);
    abouts.set(target.name, target.about);
    results.set(target.name, await runWorkloads(target, options, log));
  } catch (error) {
    log(`  cannot run: ${error.message}`);
    abouts.set(target.name, target.about);
    const errors = Object.fromEntries(
      ['publish', 'consume', 'latencyP50', 'latencyP99', 'rpcRate', 'rpcP50', 'rpcP99'].map((key) => [
        key,
        `not reachable: ${error.message}`,
      ]),
    );
    results.set(target.name, { figures: {}, errors });
  } finally {
    await target.close().catch((error) => log(`  cleanup failed: ${error.message}`));
  }
}
const seconds = (performance.now() - clock) / 1000;

console.log(`\n## Figures\n\n${figuresTable(results)}\n`);
console.log(`## Courier ÷ peer\n\n${ratioTable(results)}\n`);
console.log(`## Targets from issue 5\n\n${targetsTable(results)}\n`);
console.log(`(${Math.round(seconds)} s in all)`);

if (!flags['no-write']) {
  const argv = process.argv.slice(2);
  const viaNpm = process.env['npm_lifecycle_event'] === 'bench';
  const command = `${viaNpm ? 'npm run bench --' : 'node bench/broker/run.mjs'}${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`;
  const markdown = resultsMarkdown({
    command,
    started,
    seconds,
    options,
    machine: { ...machine(), fsync },
    load: { before: loadBefore, after: loadavg() },
    results,
    abouts,
  });
  await writeFile(flags.results, markdown);
  log(`wrote ${flags.results}`);
}
// Clients of a failed peer may hold sockets or timers open; the results are out, so leave.
process.exit(0);
