// Storage benchmark (issue 4): on one disk, in one run, the ceiling, i.e. a
// minimal loop of raw `write` + `fdatasync` of the same bytes, against the
// stream log's group-committed appends with `sync`, at 1, 100 and 10,000
// appends in flight with 1 KiB payloads. Reports throughput as a ratio of the
// ceiling, p50/p99 append latency, and fdatasyncs and writes per append.
//
//   npm run bench:storage [-- --dir /path/on/disk] [--seconds 1] [--rounds 3] [--levels 1,100,10000]
//
// Each level alternates ceiling and log runs for `rounds` rounds of
// `seconds` each and totals them, so drift in the disk's speed (shared
// machines, page cache state) hits both sides alike.
//
// Runs against the built package (the npm script builds it first).
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { nodeFileLayer, StreamLog } from '@courier/broker';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: tmpdir() },
    seconds: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    levels: { type: 'string', default: '1,100,10000' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const LEVELS = values.levels.split(',').map(Number);
const PAYLOAD = 1024;
const FRAME = 28 + PAYLOAD; // the record header (no id) plus the payload: the bytes the log writes per append

const fsp = {
  write: (fd, buffer, position) =>
    new Promise((resolve, reject) =>
      fs.write(fd, buffer, 0, buffer.length, position, (e, n) => (e ? reject(e) : resolve(n))),
    ),
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve()))),
};

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * The ceiling: one write of `inFlight` frames and one fdatasync, in a loop,
 * for SECONDS, appending to a file and starting a new one every 64 MiB, the
 * same access pattern as the log's segments (extending a file costs more
 * than overwriting it, because fdatasync must also persist the new size).
 * Files are kept until the run ends, as the log keeps its segments, so both
 * see the same page cache pressure.
 */
async function ceiling(dir, inFlight) {
  const chunk = Buffer.alloc(FRAME * inFlight, 0x61);
  const latencies = [];
  let fileNo = 0;
  const ceilingDir = join(dir, `ceiling-${inFlight}`);
  fs.mkdirSync(ceilingDir);
  let path = join(ceilingDir, `${fileNo}.bin`);
  let fd = fs.openSync(path, 'w+');
  let position = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  while (performance.now() < end) {
    if (position > 0 && position + chunk.length > 64 * 1024 * 1024) {
      fs.closeSync(fd);
      path = join(ceilingDir, `${++fileNo}.bin`);
      fd = fs.openSync(path, 'w+');
      position = 0;
    }
    const t = performance.now();
    await fsp.write(fd, chunk, position);
    await fsp.fdatasync(fd);
    latencies.push(performance.now() - t);
    position += chunk.length;
  }
  const elapsed = (performance.now() - start) / 1000;
  fs.closeSync(fd);
  await rm(ceilingDir, { recursive: true, force: true });
  return { bytes: latencies.length * chunk.length, elapsed, latencies, appends: latencies.length * inFlight };
}

/** A file layer that counts writes and fdatasyncs on segment files. */
function countingLayer() {
  const counts = { writes: 0, syncs: 0 };
  const layer = {
    ...nodeFileLayer,
    async open(path, mode) {
      const file = await nodeFileLayer.open(path, mode);
      if (!path.endsWith('.log')) return file;
      return {
        ...file,
        write(buffer, position) {
          counts.writes++;
          return file.write(buffer, position);
        },
        datasync() {
          counts.syncs++;
          return file.datasync();
        },
      };
    },
  };
  return { layer, counts };
}

/** The log: a closed loop keeping `inFlight` appends outstanding for SECONDS. */
async function logRun(dir, inFlight) {
  const streamDir = join(dir, `log-${inFlight}`);
  const { layer, counts } = countingLayer();
  const log = await StreamLog.open({ dir: streamDir, sync: 'sync', fileLayer: layer, dedupWindowMs: 0 });
  const payload = Buffer.alloc(PAYLOAD, 0x62);
  const latencies = [];
  let appended = 0;
  let stop = false;
  counts.writes = 0;
  counts.syncs = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  async function loop() {
    while (!stop) {
      const t = performance.now();
      await log.append({ payload });
      latencies.push(performance.now() - t);
      appended++;
      if (performance.now() >= end) stop = true;
    }
  }
  await Promise.all(Array.from({ length: inFlight }, loop));
  const elapsed = (performance.now() - start) / 1000;
  await log.close();
  await rm(streamDir, { recursive: true, force: true });
  return {
    bytes: appended * FRAME,
    elapsed,
    latencies,
    appends: appended,
    syncs: counts.syncs,
    writes: counts.writes,
  };
}

/** Runs `run` ROUNDS times and totals bytes, time, latencies and counters. */
function total(results) {
  const sum = (key) => results.reduce((n, r) => n + (r[key] ?? 0), 0);
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const elapsed = sum('elapsed');
  return {
    bytesPerSecond: sum('bytes') / elapsed,
    appendsPerSecond: sum('appends') / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    syncsPerAppend: sum('syncs') / sum('appends'),
    writesPerAppend: sum('writes') / sum('appends'),
  };
}

const mb = (n) => (n / (1024 * 1024)).toFixed(1);
const ms = (n) => n.toFixed(2);

const dir = await mkdtemp(join(values.dir, 'courier-bench-'));
console.log(
  `storage bench: ${PAYLOAD} B payloads (${FRAME} B frames), sync policy 'sync', ${ROUNDS} alternating rounds of ${SECONDS}s per side, in ${dir}`,
);
const rows = [];
try {
  for (const inFlight of LEVELS) {
    const cs = [];
    const ls = [];
    for (let round = 0; round < ROUNDS; round++) {
      cs.push(await ceiling(dir, inFlight));
      ls.push(await logRun(dir, inFlight));
    }
    const c = total(cs);
    const l = total(ls);
    rows.push({
      'in flight': inFlight,
      'ceiling MB/s': mb(c.bytesPerSecond),
      'log MB/s': mb(l.bytesPerSecond),
      'log/ceiling': `${((100 * l.bytesPerSecond) / c.bytesPerSecond).toFixed(0)}%`,
      'appends/s': Math.round(l.appendsPerSecond),
      'p50 ms': ms(l.p50),
      'p99 ms': ms(l.p99),
      'ceiling p50 ms': ms(c.p50),
      'ceiling p99 ms': ms(c.p99),
      'fdatasync/append': l.syncsPerAppend.toFixed(4),
      'write/append': l.writesPerAppend.toFixed(4),
    });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.table(rows);
console.log(
  'targets: with 10000 in flight, log >= 70% of the ceiling bytes/s; with 1 in flight, exactly one fdatasync (and one write) per append.',
);
