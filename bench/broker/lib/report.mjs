// The tables of a run (figures, Courier's ratios to each peer, the issue's
// targets) as Markdown, printed and written to bench/RESULTS.md.
import { FIGURES } from './workloads.mjs';

export const COURIER = ['courier://', 'embedded://'];

/** The peers in table order, with their column titles for each kind of workload. */
const PEERS = [
  { name: 'NATS JetStream', short: 'NATS', rpc: 'NATS core request-reply' },
  { name: 'RabbitMQ', short: 'RabbitMQ', rpc: 'RabbitMQ direct reply-to' },
  { name: 'Redis (fsync always)', short: 'Redis fsync', rpc: undefined },
  { name: 'Redis (shared)', short: 'Redis shared', rpc: undefined },
];

/** The issue's targets: Courier's figure over the peer's, at least (or, for latency, at most) `ratio`. */
const TARGETS = [
  { figure: 'publish', peer: 'NATS JetStream', atLeast: 4, text: 'confirmed publish ≥ 4× NATS JetStream' },
  { figure: 'publish', peer: 'RabbitMQ', atLeast: 3, text: 'confirmed publish ≥ 3× RabbitMQ' },
  {
    figure: 'publish',
    peer: 'Redis (fsync always)',
    atLeast: 2,
    text: 'confirmed publish ≥ 2× Redis Streams with appendfsync always',
  },
  { figure: 'consume', peer: 'NATS JetStream', atLeast: 2, text: 'consume and ack ≥ 2× NATS JetStream' },
  {
    figure: 'rpcRate',
    peer: 'NATS JetStream',
    atLeast: 2,
    text: 'request-reply, 100 in flight ≥ 2× NATS core request-reply',
  },
  {
    figure: 'rpcP50',
    peer: 'NATS JetStream',
    atMost: 1.5,
    text: 'request-reply p50, 1 in flight ≤ 1.5× NATS core request-reply',
  },
];

const loadText = (values) => values.map((v) => v.toFixed(2)).join(', ');

const isLatency = (key) => key.endsWith('P50') || key.endsWith('P99');

function format(key, value) {
  if (value === undefined || Number.isNaN(value)) return '—';
  if (isLatency(key))
    return value < 0.1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1);
  return Math.round(value).toLocaleString('en-US');
}

const ratioText = (ratio) => (ratio === undefined || !Number.isFinite(ratio) ? '—' : `${ratio.toFixed(2)}×`);

function ratio(results, courier, peer, key) {
  const mine = results.get(courier)?.figures[key];
  const theirs = results.get(peer)?.figures[key];
  return mine === undefined || theirs === undefined ? undefined : mine / theirs;
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [
    line(header),
    line(header.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows.map((row) => line(row)),
  ].join('\n');
}

/** Figures of every target that ran, one column each; cells that failed or were skipped show a dash. */
export function figuresTable(results) {
  const names = [...results.keys()];
  return table(
    ['workload', ...names],
    FIGURES.map(({ key, label }) => [
      label,
      ...names.map((name) => format(key, results.get(name).figures[key])),
    ]),
  );
}

/** Courier's figure divided by each peer's: above 1 is better for rates, below 1 for latencies. */
export function ratioTable(results) {
  const peers = PEERS.filter((peer) => results.has(peer.name));
  const couriers = COURIER.filter((name) => results.has(name));
  const header = ['workload (Courier ÷ peer)'];
  for (const courier of couriers) for (const peer of peers) header.push(`${courier} ÷ ${peer.short}`);
  const rows = FIGURES.map(({ key, label, better }) => {
    const row = [`${label} (${better} is better)`];
    for (const courier of couriers)
      for (const peer of peers) row.push(ratioText(ratio(results, courier, peer.name, key)));
    return row;
  });
  return table(header, rows);
}

/** Each target of issue 5 against courier:// and embedded://: the ratio and whether it is met. */
export function targetRows(results) {
  const couriers = COURIER.filter((name) => results.has(name));
  return TARGETS.map((t) => {
    const cells = couriers.map((courier) => {
      const r = ratio(results, courier, t.peer, t.figure);
      if (r === undefined) return { courier, text: 'not measured', met: undefined };
      const met = t.atLeast !== undefined ? r >= t.atLeast : r <= t.atMost;
      return { courier, text: `${ratioText(r)} ${met ? 'met' : 'NOT met'}`, met };
    });
    return { text: t.text, cells };
  });
}

export function targetsTable(results) {
  const couriers = COURIER.filter((name) => results.has(name));
  return table(
    ['target (issue 5)', ...couriers],
    targetRows(results).map((row) => [row.text, ...row.cells.map((cell) => cell.text)]),
  );
}

/** Wall time and CPU time of each workload: the bench process, plus the broker process for courier://. */
export function usageTable(results) {
  const names = [...results.keys()];
  const workloads = ['publish', 'consume', 'latency', 'rpc'];
  const cell = (u) => {
    if (!u) return '—';
    const server = u.server !== undefined ? ` + broker ${u.server.toFixed(1)}` : '';
    return `${u.wall.toFixed(1)} s; CPU ${u.bench.toFixed(1)}${server}`;
  };
  return table(
    ['workload', ...names],
    workloads.map((w) => [w, ...names.map((name) => cell(results.get(name).usage?.[w]))]),
  );
}

/** Why cells are empty: every failure and skip, once per target and reason. */
export function notes(results) {
  const lines = [];
  for (const [name, { errors }] of results) {
    const reasons = new Map();
    for (const [key, reason] of Object.entries(errors)) {
      const label = FIGURES.find((f) => f.key === key)?.label ?? key;
      reasons.set(reason, [...(reasons.get(reason) ?? []), label]);
    }
    for (const [reason, labels] of reasons) lines.push(`- ${name}, ${labels.join('; ')}: ${reason}`);
  }
  return lines.join('\n');
}

/** bench/RESULTS.md. */
export function resultsMarkdown({ command, started, seconds, options, machine, load, results, abouts }) {
  const { publish, latency, rpc } = options;
  const versions = [...abouts].map(
    ([name, about]) => `| ${name} | ${about.version ?? '—'} | ${about.durability ?? '—'} |`,
  );
  const why = notes(results);
  return `# Broker bench results

Written by \`${command.replace(/ --$/, '')}\` (bench/broker/run.mjs) on ${started.toISOString()}; the whole run took ${Math.round(seconds)} s.
One run, one process, one target after another: the figures are single measurements, not medians, and
the machine is shared with the services and anything else running, so expect some noise between runs.

## Machine and runtime

- CPUs: ${machine.cpus}
- Memory: ${machine.memory}
- Kernel: ${machine.kernel}
- Disk for Courier's data and the private Redis: ${machine.disk} (NATS, RabbitMQ on the same disk); one fdatasync after a 4 KiB append took ${machine.fsync.p50.toFixed(2)} ms at p50, ${machine.fsync.p99.toFixed(2)} ms at p99 (200 tries before the run)
- Node.js ${machine.node}; clients: ${machine.clients}
- Load average (1, 5, 15 min) before the run: ${loadText(load.before)}; after: ${loadText(load.after)}. Anything above 0 is other work sharing the ${machine.cpus.split(' ')[0]} CPUs with the bench.

## Engines and their durability (fsync policy)

| target | version | when a publish is confirmed |
| --- | --- | --- |
${versions.join('\n')}

## Workloads

- **Confirmed publish**: ${publish.count.toLocaleString('en-US')} messages of ${publish.size} B, ${publish.inflight.toLocaleString('en-US')} publishes awaiting their confirmation at a time, each awaited (Courier: \`bus.publish\`; NATS: \`js.publish\` with a Nats-Msg-Id, awaiting the PubAck; RabbitMQ: \`sendToQueue\` on a confirm channel, persistent; Redis: \`XADD\`, awaiting the reply).
- **Consume and ack**: a new durable group reads those messages from the start and acks each after its handler returns, credit ${publish.inflight.toLocaleString('en-US')} (Courier: \`bus.subscribe\` with a group, \`deliver: 'all'\`, concurrency ${publish.inflight}; NATS: a durable pull consumer, \`consume({ max_messages })\`, \`m.ack()\`; RabbitMQ: prefetch, \`ack\`; Redis: \`XREADGROUP COUNT\` … \`BLOCK\`, one \`XACK\` per message). The time includes attaching.
- **Publish→handler latency**: a group attached first, then ${(latency.warmup + latency.count).toLocaleString('en-US')} messages of ${latency.size} B published open loop at ${latency.rate.toLocaleString('en-US')} msg/s (each confirmed in the background), from the publish call to the handler in the same process; the first ${latency.warmup.toLocaleString('en-US')} are left out of p50/p99.
- **Request-reply**: requests and replies of ${rpc.size} B between two connections of the bench process; ${rpc.requests.toLocaleString('en-US')} requests with ${rpc.inflight} in flight for requests/s, then ${rpc.samples.toLocaleString('en-US')} one at a time for p50/p99 (after ${rpc.warmup} unmeasured of each). Peers: NATS core request-reply (a queue-group subscription answering with \`respond\`), RabbitMQ direct reply-to. Redis has none (see below).

Courier runs through its public API only (\`connect(url)\`, \`bus.publish\`, \`bus.subscribe\`, \`bus.request\`/\`bus.handle\`), raw bytes as data. \`courier://\` talks to \`courier broker\` in a child process over loopback TCP; \`embedded://\` runs the engine in the bench process. Each peer uses streams, queues and keys of its own, deleted at the end; the shared services are never flushed or restarted.

## Figures

${figuresTable(results)}

### Time and CPU per workload

Wall time of each workload and the CPU seconds (user + system) it used in the bench process (clients, and for
embedded:// the engine too) and, for courier://, in the broker process. Peers' server CPU is not measured (their
servers are shared with other users of this machine).

${usageTable(results)}

## Courier's ratio to each peer

Courier's figure divided by the peer's. In the request-reply rows the NATS columns compare with NATS core request-reply and the RabbitMQ columns with direct reply-to.

${ratioTable(results)}

## Targets from issue 5

${targetsTable(results)}
${why ? `\n## Missing figures\n\n${why}\n` : ''}`;
}
