// Redis benchmark (issue 6): Courier-over-Redis against the raw ioredis
// client on the same workload, in one run, as ratios.
//
//   npx tsc -b && node bench/redis/run.mjs [--url redis://127.0.0.1:6379] [--messages 20000] [--inflight 100] [--rounds 5]
//
// Workload: publish `messages` messages of 1 KiB with `inflight` publishes
// awaiting their reply at a time (each confirmed), then consume them all with
// a consumer group of `inflight` credit that acks each one. The raw side is
// what an ioredis user writes: `XADD` of the payload, then `XREADGROUP COUNT
// inflight` and one `XACK` per message. Courier does more per message (the
// dedup key, wildcard routing, the attributes as fields, the Bus's encoding),
// which is what the ratio prices. Each round runs raw then Courier in a fresh
// namespace (alternating which goes first, after one warm-up of each); the
// table reports the median round: throughput, and this process's CPU time
// per message (user + system). Keys are deleted after each round.
//
// Runs against the built packages (packages/*/dist): run `npx tsc -b` first.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connect } from '@courier/core';
import { redisTransport } from '@courier/redis';
import { Redis } from 'ioredis';
import { compare, courierRound, measure, printTable, windowed } from '../lib/harness.mjs';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'redis://127.0.0.1:6379' },
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

const tag = () => `bench-${randomUUID().replaceAll('-', '').slice(0, 10)}`;

async function dropNamespace(prefix) {
  const redis = new Redis(URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

async function raw() {
  const prefix = tag();
  const key = `{${prefix}}:orders.created`;
  const redis = new Redis(URL);
  const reader = new Redis(URL);
  const payload = Buffer.from(PAYLOAD);
  try {
    const p = measure(MESSAGES);
    await windowed(MESSAGES, IN_FLIGHT, () => redis.xadd(key, '*', 'p', payload));
    const publish = p();
    await redis.xgroup('CREATE', key, 'g', '0');
    const c = measure(MESSAGES);
    let got = 0;
    while (got < MESSAGES) {
      const reply = await reader.xreadgroupBuffer(
        'GROUP',
        'g',
        'c',
        'COUNT',
        IN_FLIGHT,
        'BLOCK',
        1000,
        'STREAMS',
        key,
        '>',
      );
      if (!reply) continue;
      const entries = reply[0][1];
      await Promise.all(entries.map(([id]) => redis.xack(key, 'g', id)));
      got += entries.length;
    }
    const consume = c();
    return { publish, consume };
  } finally {
    redis.disconnect();
    reader.disconnect();
    await dropNamespace(prefix);
  }
}

async function courier() {
  const prefix = tag();
  const bus = await connect(await redisTransport(URL, { prefix }), { service: 'bench' });
  try {
    return await courierRound(bus, { messages: MESSAGES, inFlight: IN_FLIGHT, payload: PAYLOAD });
  } finally {
    await bus.close();
    await dropNamespace(prefix);
  }
}

// One warm-up of each (JIT, connections, server caches), then rounds in alternating order.
const rows = await compare({
  rounds: ROUNDS,
  warmUp: true,
  phases: { publish: 'publish, each reply awaited', consume: 'consume with a group, each acked' },
  raw,
  courier,
});
printTable({
  title: `Redis Streams (${URL}): ${MESSAGES.toLocaleString('en-US')} x 1 KiB, ${IN_FLIGHT} in flight, median of ${ROUNDS} rounds`,
  rows,
  note: 'Throughput shares the machine with redis-server (and anything else running); client CPU per message is the steadier measure of what the adapter costs.',
});
