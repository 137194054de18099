/**
 * The conformance suite on `courier://`: a broker server on a free port with
 * a temporary directory, clients over TCP. The restart case stops the
 * server and starts it again on the same port and directory; clients
 * reconnect by themselves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTransportSuite } from '@courier/testkit';
import { afterAll } from 'vitest';
import { type BrokerServer, type CourierTransport, courierTransport, startBroker } from '../src/index.js';

const dir = await mkdtemp(join(tmpdir(), 'courier-tcp-suite-'));
let broker: BrokerServer = await startBroker({ dir, port: 0 });
const port = broker.port;

runTransportSuite('courier', () => courierTransport({ port, service: 'suite' }), {
  kill: (transport) => (transport as CourierTransport).kill(),
  restart: async () => {
    await broker.close();
    broker = await startBroker({ dir, port });
  },
});

afterAll(async () => {
  await broker.close();
  await rm(dir, { recursive: true, force: true });
});
