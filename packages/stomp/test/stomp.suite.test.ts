/**
 * The conformance suite on ActiveMQ Classic over STOMP, against a private
 * broker started for this file (its own data directory and port), with
 * `kill` dropping one connection as a crash would and `restart` killing and
 * restarting the broker on the same data.
 */
import { runTransportSuite } from '@courier/testkit';
import { afterAll } from 'vitest';
import { StompTransport } from '../src/index.js';
import { startActiveMq } from './activemq-server.js';

const broker = await startActiveMq();
afterAll(() => broker.stop());

runTransportSuite(
  'stomp (ActiveMQ Classic)',
  () => StompTransport.connect({ host: broker.host, port: broker.port, heartbeat: 2000 }),
  {
    kill: (transport) => (transport as StompTransport).kill(),
    restart: () => broker.restart(),
  },
);
