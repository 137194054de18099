// Courier through its public API, as a user writes it: `connect(url)`,
// `bus.publish`, `bus.subscribe` with a group and a concurrency, and
// `bus.request` / `bus.handle`. Two targets:
//
// - courier://  the broker in a child process (`courier broker`), so that
//               the clients and the broker do not share one event loop;
// - embedded:// the broker's engine inside this process, no TCP.
//
// Both run the broker's default durability: `sync`, an fdatasync of each
// group commit before any publish in it is confirmed.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BrokerEngine, embeddedTransport } from '@courier/broker';
import { connect } from '@courier/core';
import { deadline } from '../lib/timing.mjs';

const CLI = new URL('../../../packages/cli/bin/courier.js', import.meta.url);
const DURABILITY = 'fdatasync of every group commit before the confirmation (`sync`, the default)';

/** Starts `courier broker` on a free port and resolves with the child and its `courier://` URL. */
async function startBrokerProcess(dir, profileDir) {
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(
    process.execPath,
    [...profile, CLI.pathname, 'broker', '--data', dir, '--port', '0', '--http-port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const listening = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.level >= 50) process.stderr.write(`[courier broker] ${line}\n`);
      if (typeof entry.msg === 'string' && entry.msg.startsWith('broker listening on')) resolve(entry.url);
    });
    child.once('exit', (code) =>
      reject(new Error(`courier broker exited with ${code} before listening: ${stderr.trim()}`)),
    );
  });
  const url = await deadline(listening, 20_000, 'courier broker start');
  return { child, url };
}

async function stopBrokerProcess(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await deadline(exited, 20_000, 'courier broker shutdown').catch(() => child.kill('SIGKILL'));
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** The figures of one Courier connection method; `connectBus()` opens a new Bus (one connection). */
function courierTarget({ name, tag, open, shut, version, serverCpu }) {
  let connectBus;
  const subject = (stream) => `bench.${tag}.${stream}`;
  const target = {
    name,
    about: {},
    async open() {
      connectBus = await open();
      target.about = { version: version(), durability: DURABILITY };
    },
    async publisher(stream) {
      const bus = await connectBus('bench-publisher');
      return {
        publish: (bytes) => bus.publish(subject(stream), bytes),
        close: () => bus.close(),
      };
    },
    async consumer(stream, { credit, fromStart, onMessage }) {
      const bus = await connectBus('bench-consumer');
      const subscription = bus.subscribe(subject(stream), (data) => onMessage(data), {
        group: `bench-${stream}`,
        deliver: fromStart ? 'all' : 'new',
        concurrency: credit,
      });
      await subscription.ready;
      return {
        close: async () => {
          await subscription.close();
          await bus.close();
        },
      };
    },
    async rpc(reply) {
      const server = await connectBus('bench-responder');
      const client = await connectBus('bench-requester');
      const handler = server.handle(subject('rpc'), () => reply);
      await handler.ready;
      return {
        request: (bytes) => client.request(subject('rpc'), bytes, { timeout: '10s' }),
        close: async () => {
          await client.close();
          await server.close();
        },
      };
    },
    close: () => shut(),
    serverCpu,
  };
  return target;
}

/**
 * courier://: the broker in a child process, reached over loopback TCP.
 * With `profileDir`, the broker writes a V8 CPU profile there when it stops.
 */
export function courierTcp({ tag, version, profileDir }) {
  let dir;
  let broker;
  return courierTarget({
    name: 'courier://',
    tag,
    serverCpu: () => (broker ? cpuSecondsOf(broker.child.pid) : undefined),
    version: () => `${version} (broker in a child process)`,
    async open() {
      dir = await mkdtemp(join(tmpdir(), 'courier-bench-'));
      broker = await startBrokerProcess(dir, profileDir);
      return (service) => connect(broker.url, { service });
    },
    async shut() {
      if (broker) await stopBrokerProcess(broker.child);
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  });
}

/** embedded://: the engine in this process; every Bus gets its own transport onto it. */
export function courierEmbedded({ tag, version }) {
  let dir;
  let engine;
  return courierTarget({
    name: 'embedded://',
    tag,
    version: () => `${version} (engine in the bench process)`,
    async open() {
      dir = await mkdtemp(join(tmpdir(), 'courier-bench-'));
      engine = await BrokerEngine.open({ dir });
      return (service) => connect(embeddedTransport(engine), { service });
    },
    async shut() {
      await engine?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  });
}
