// Redis Streams with the official Node client (ioredis): XADD to publish
// (each reply awaited: the entry is in the stream), a consumer group read
// with XREADGROUP BLOCK COUNT <credit>, and an XACK per message. Commands of
// one turn are auto-pipelined. Two servers:
//
// - the machine's shared Redis, whose persistence is whatever it runs with
//   (read at run time and reported; on this machine: none);
// - a private redis-server this bench starts with `--appendonly yes
//   --appendfsync always`, whose replies go out only after the AOF write of
//   their event-loop turn is fsynced: the figure comparable with Courier's.
//
// Redis has no request-reply: an RPC over Redis is a pattern built by hand
// (a request list, BLPOP on a reply key, correlation ids), not something its
// client offers, so there is no peer figure for it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { deadline } from '../lib/timing.mjs';

export const REDIS_RPC_SKIP =
  'Redis has no request-reply; an RPC over it is a hand-built pattern (request list, BLPOP on a reply key), not a client feature';

/** A TCP port that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a private redis-server with every write fsynced before its reply; stop it with `stop()`. */
async function startFsyncRedis() {
  const dir = await mkdtemp(join(tmpdir(), 'courier-bench-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  args.push('--appendonly', 'yes', '--appendfsync', 'always', '--save', '');
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const failed = new Promise((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  const url = `redis://127.0.0.1:${port}`;
  const ready = (async () => {
    for (;;) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined); // not listening yet: try again
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        probe.disconnect();
      }
    }
  })();
  await deadline(Promise.race([ready, failed]), 10_000, 'the private redis-server start');
  failed.catch(() => undefined);
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await deadline(exited, 10_000, 'the private redis-server shutdown').catch(() =>
          child.kill('SIGKILL'),
        );
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the server's persistence settings mean for a reply to XADD. */
function persistenceOf(config) {
  if (config.appendonly !== 'yes') {
    const save = config.save ? `RDB snapshots \`save ${config.save}\`` : 'no RDB snapshots';
    return `no AOF (appendonly no), ${save}: a confirmed XADD is in memory only`;
  }
  const when = {
    always: 'the AOF write of each event-loop turn is fsynced before its replies go out',
    everysec: 'the AOF is fsynced once a second, after the reply',
    no: 'the AOF is left to the OS to flush',
  }[config.appendfsync];
  return `AOF, appendfsync ${config.appendfsync}: ${when}`;
}

/**
 * Redis Streams on the shared server at `url`, or (`fsync: true`) on a
 * private server with `appendfsync always`. Keys are {bench-broker-<tag>}:<role>.
 */
export function redisTarget({ url, tag, fsync }) {
  const clients = new Set();
  const keys = new Set();
  let server;
  let admin;
  const open = (options = {}) => {
    // A server that is down fails the figure after a few tries instead of being retried forever.
    const client = new Redis(server?.url ?? url, {
      enableAutoPipelining: true,
      retryStrategy: (times) => (times > 3 ? null : 200),
      ...options,
    });
    client.on('error', () => undefined); // surfaces as a failed command instead
    clients.add(client);
    return client;
  };
  const shut = (client) => {
    clients.delete(client);
    client.disconnect();
  };
  const keyOf = (stream) => `{bench-broker-${tag}}:${stream}`;
  const target = {
    name: fsync ? 'Redis (fsync always)' : 'Redis (shared)',
    rpcSkip: REDIS_RPC_SKIP,
    about: {},
    async open() {
      if (fsync) server = await startFsyncRedis();
      admin = open();
      const info = await admin.info('server');
      const version = /redis_version:(\S+)/.exec(info)?.[1];
      const config = {};
      for (const name of ['appendonly', 'appendfsync', 'save']) {
        const [, value] = await admin.config('GET', name);
        config[name] = value;
      }
      target.about = {
        version: `Redis ${version}${fsync ? ' (private server started by the bench)' : ` (shared, ${url})`}`,
        durability: persistenceOf(config),
      };
    },
    async publisher(stream) {
      const key = keyOf(stream);
      keys.add(key);
      const client = open();
      return {
        publish: (bytes) =>
          client.xadd(key, '*', 'd', Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
        close: async () => shut(client),
      };
    },
    async consumer(stream, { credit, fromStart, onMessage }) {
      const key = keyOf(stream);
      await admin.xgroup('CREATE', key, 'bench', fromStart ? '0' : '$', 'MKSTREAM');
      const reader = open({ enableAutoPipelining: false });
      const acker = open();
      let stopped = false;
      const loop = (async () => {
        while (!stopped) {
          const reply = await reader
            .xreadgroupBuffer('GROUP', 'bench', 'c', 'COUNT', credit, 'BLOCK', 1000, 'STREAMS', key, '>')
            .catch((error) => {
              if (!stopped) throw error;
            });
          if (!reply) continue;
          const acks = [];
          for (const [id, fields] of reply[0][1]) {
            onMessage(fields[1]);
            acks.push(acker.xack(key, 'bench', id));
          }
          await Promise.all(acks);
        }
      })();
      return {
        close: async () => {
          stopped = true;
          shut(reader);
          await loop;
          shut(acker);
        },
      };
    },
    async close() {
      if (admin && keys.size > 0) await admin.unlink(...keys).catch(() => undefined);
      for (const client of clients) shut(client);
      await server?.stop();
    },
  };
  return target;
}
