/**
 * The broker over TLS (`couriers://`): a self-signed certificate made at
 * test time with openssl, a client that trusts it publishes and consumes,
 * and clients that speak the wrong thing fail at once with a clear error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@courier/core';
import { Collector } from '@courier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerServer, courierTransport, startBroker } from '../src/index.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasOpenssl())('broker over TLS (needs the openssl command to make a certificate)', () => {
  let dir: string;
  let broker: BrokerServer;
  let cert: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'courier-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cert = await readFile(join(dir, 'cert.pem'));
    const key = await readFile(join(dir, 'key.pem'));
    broker = await startBroker({ dir: join(dir, 'data'), port: 0, tls: { key, cert } });
  });

  afterAll(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes and consumes over couriers:// with a client that trusts the certificate', async () => {
    expect(broker.url).toBe(`couriers://127.0.0.1:${broker.port}`);
    const bus = await connect(broker.url, { service: 'tls-test', transport: { tls: { ca: cert } } });
    const seen = new Collector<unknown>();
    await bus.subscribe('secure.greeting', (data) => seen.push(data), { group: 'tls' }).ready;
    await bus.publish('secure.greeting', { hello: 'over TLS' });
    await seen.count(1, 5000);
    expect(seen.items).toEqual([{ hello: 'over TLS' }]);
    expect(await bus.request('secure.nobody', 1).catch((e: unknown) => e)).toMatchObject({
      code: 'NO_RESPONDERS',
    });
    await bus.close();
  });

  it('fails a plain-TCP client on the TLS port at once, saying to use couriers://', async () => {
    await expect(courierTransport({ port: broker.port })).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
      message: expect.stringContaining('couriers://'),
    });
  });

  it('refuses a certificate the client does not trust, and names the certificate as the thing to check', async () => {
    await expect(courierTransport({ port: broker.port, tls: true })).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
      message: expect.stringMatching(/self-signed certificate.*tls\.ca/),
    });
  });

  it('fails a TLS client against a plain-TCP broker with an error rather than a hang', async () => {
    const plainDir = await mkdtemp(join(tmpdir(), 'courier-plain-'));
    const plain = await startBroker({ dir: plainDir, port: 0 });
    try {
      await expect(courierTransport({ port: plain.port, tls: { ca: cert } })).rejects.toMatchObject({
        code: 'CONNECTION_CLOSED',
        message: expect.stringContaining(`couriers://127.0.0.1:${plain.port}`),
      });
    } finally {
      await plain.close();
      await rm(plainDir, { recursive: true, force: true });
    }
  });
});
