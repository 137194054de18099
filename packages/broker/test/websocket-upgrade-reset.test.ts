/**
 * A WebSocket upgrade to a path nobody serves, reset by the client before
 * the broker answers, must not crash the broker: Node takes the error
 * listener off an upgraded socket, so the refusal's write used to raise an
 * uncaught `ECONNRESET`. The broker keeps serving HTTP and WebSocket clients
 * afterwards, and an unclaimed upgrade is refused and closed, not left open.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@courier/core';
import { Collector } from '@courier/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type BrokerServer, type HttpAdmin, startBroker, startHttpAdmin } from '../src/index.js';

const UPGRADE =
  'HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function start(): Promise<{ broker: BrokerServer; admin: HttpAdmin }> {
  const dir = await mkdtemp(join(tmpdir(), 'courier-ws-reset-'));
  const broker = await startBroker({ dir, port: 0 });
  const admin = await startHttpAdmin({
    engine: broker.engine,
    host: '127.0.0.1',
    port: 0,
    ready: () => true,
  });
  broker.attachWebSocket(admin.server);
  cleanup = async () => {
    await broker.close();
    await admin.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { broker, admin };
}

/** Sends an upgrade for `path` and resets the connection at once; resolves when the reset is done. */
function upgradeThenReset(port: number, path: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} ${UPGRADE}`, () => {
        socket.resetAndDestroy();
      });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

/** Sends an upgrade for `path`; resolves with what the broker answered once it closed the connection. */
function upgradeAnswer(port: number, path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${path} ${UPGRADE}`));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

describe('WebSocket upgrades on the admin port', () => {
  it('survives upgrades to an unknown path that the client resets: no uncaught exception, the broker keeps serving', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on('uncaughtException', onUncaught);
    try {
      const { admin } = await start();
      for (let i = 0; i < 20; i++) await upgradeThenReset(admin.port, '/nope');
      // The broker still answers HTTP and serves the protocol over its WebSocket endpoint.
      const health = await fetch(`http://127.0.0.1:${admin.port}/healthz`);
      expect(health.status).toBe(200);
      const bus = await connect(`courier+ws://127.0.0.1:${admin.port}/courier`, { service: 'ws-reset' });
      const seen = new Collector<unknown>();
      await bus.subscribe('reset.after', (d) => seen.push(d), { group: 'after' }).ready;
      await bus.publish('reset.after', 'still here');
      await seen.count(1, 5000);
      expect(seen.items).toEqual(['still here']);
      await bus.close();
      expect(uncaught.map(String)).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('answers an upgrade to an unknown path with 404 naming the endpoint, and closes the connection', async () => {
    const { admin } = await start();
    const answer = await upgradeAnswer(admin.port, '/nope');
    expect(answer).toMatch(/^HTTP\/1\.1 404 Not Found/);
    expect(answer).toContain("no WebSocket endpoint at /nope; the broker's is /courier");
  });
});
