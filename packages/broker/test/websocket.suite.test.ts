/**
 * The conformance suite on `courier+ws://`: the broker's protocol over a
 * WebSocket on its HTTP admin port at `/courier`, as browsers use it. The
 * restart case stops the broker and its HTTP server and starts both again on
 * the same ports and directory; clients reconnect by themselves. A malformed
 * WebSocket message ends only its own connection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@courier/core';
import { Collector, runTransportSuite } from '@courier/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type BrokerServer,
  type CourierTransport,
  courierTransport,
  type HttpAdmin,
  startBroker,
  startHttpAdmin,
} from '../src/index.js';

const dir = await mkdtemp(join(tmpdir(), 'courier-ws-suite-'));

async function start(ports: {
  port: number;
  httpPort: number;
}): Promise<{ broker: BrokerServer; admin: HttpAdmin }> {
  const broker = await startBroker({ dir, port: ports.port });
  const admin = await startHttpAdmin({
    engine: broker.engine,
    host: '127.0.0.1',
    port: ports.httpPort,
    ready: () => true,
  });
  broker.attachWebSocket(admin.server);
  return { broker, admin };
}

async function stop(running: { broker: BrokerServer; admin: HttpAdmin }): Promise<void> {
  // The broker closes its WebSockets first, so the HTTP server has no upgraded socket left to wait for.
  await running.broker.close();
  await running.admin.close();
}

let running = await start({ port: 0, httpPort: 0 });
const ports = { port: running.broker.port, httpPort: running.admin.port };

runTransportSuite(
  'courier+ws',
  () => courierTransport({ port: ports.httpPort, websocketPath: '/courier', service: 'ws-suite' }),
  {
    kill: (transport) => (transport as CourierTransport).kill(),
    restart: async () => {
      await stop(running);
      running = await start(ports);
    },
  },
);

/** Sends `data` in one WebSocket message; resolves with what came back and the close code. */
function rawWebSocket(data: Buffer | string): Promise<{ received: Buffer; code: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ports.httpPort}/courier`);
    const chunks: Buffer[] = [];
    ws.on('open', () => ws.send(data));
    ws.on('message', (chunk: Buffer) => chunks.push(chunk));
    ws.on('close', (code) => resolve({ received: Buffer.concat(chunks), code }));
    ws.on('error', reject);
  });
}

describe('courier+ws endpoint', () => {
  it('answers a malformed binary message or a text message with an ERROR frame and a close, and keeps serving others', async () => {
    const bus = await connect(`courier+ws://127.0.0.1:${ports.httpPort}/courier`, {
      service: 'ws-bystander',
    });
    const seen = new Collector<unknown>();
    await bus.subscribe('ws.kept', (d) => seen.push(d), { group: 'ws-keep' }).ready;
    await bus.publish('ws.kept', 'before');
    const oversized = Buffer.alloc(5);
    oversized.writeUInt32BE(0xfffffff0, 0);
    const binary = await rawWebSocket(oversized);
    expect(binary.received.toString('latin1')).toContain('PROTOCOL_ERROR');
    const garbage = await rawWebSocket(Buffer.from([0, 0, 0, 3, 0x99, 1, 2]));
    expect(garbage.received.toString('latin1')).toContain('unknown frame type 0x99');
    const text = await rawWebSocket('HELLO?');
    expect(text.received.toString('latin1')).toContain('binary messages only');
    await bus.publish('ws.kept', 'after');
    await seen.count(2, 5000);
    expect(seen.items).toEqual(['before', 'after']);
    await bus.close();
  });

  it('refuses an upgrade on another path with 404', async () => {
    const error = await new Promise<Error>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${ports.httpPort}/elsewhere`);
      ws.on('error', resolve);
    });
    expect(error.message).toContain('404');
  });
});

describe('startBroker({ websocket })', () => {
  it('serves the protocol on a WebSocket port of its own', async () => {
    const ownDir = await mkdtemp(join(tmpdir(), 'courier-ws-own-'));
    const broker = await startBroker({ dir: ownDir, port: 0, websocket: { port: 0 } });
    try {
      expect(broker.websocketUrl).toMatch(/^courier\+ws:\/\/127\.0\.0\.1:\d+\/courier$/);
      const bus = await connect(broker.websocketUrl as string, { service: 'ws-own' });
      const seen = new Collector<unknown>();
      await bus.subscribe('own.port', (d) => seen.push(d), { group: 'own' }).ready;
      await bus.publish('own.port', 42);
      await seen.count(1, 5000);
      expect(seen.items).toEqual([42]);
      await bus.close();
    } finally {
      await broker.close();
      await rm(ownDir, { recursive: true, force: true });
    }
  });
});

afterAll(async () => {
  await stop(running);
  await rm(dir, { recursive: true, force: true });
});
