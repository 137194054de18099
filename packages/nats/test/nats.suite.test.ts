/**
 * The conformance suite against the machine's NATS server with JetStream.
 * Each transport connects through its own TCP proxy, so that `kill` can cut
 * one connection for good, as a crashed process's would be. The restart
 * case runs against a private server in `restart.integration.test.ts`.
 */
import type { NatsTransport } from '@courier/nats';
import { runTransportSuite } from '@courier/testkit';
import { afterAll } from 'vitest';
import { TestDeployment } from './helpers/shared-server.js';

const deployment = new TestDeployment();
afterAll(() => deployment.remove());

runTransportSuite('nats', () => deployment.transport(), {
  kill: (transport) => deployment.kill(transport as NatsTransport),
  skip: {
    'engine.restart':
      "restarting the machine's shared nats-server would disturb other tests; this case runs against a private nats-server in restart.integration.test.ts",
  },
});
