/**
 * The conformance suite against a real RabbitMQ (never a mock): a private
 * node started for this file (its own ports and data directory), so that
 * the durability case can restart it; where none can be started,
 * the machine's shared broker, which must never be restarted, without that
 * case. Each connection goes through its own TCP proxy so that `kill` drops
 * exactly that one, for good, as a crashed process would.
 */
import { runTransportSuite } from '@courier/testkit';
import { afterAll } from 'vitest';
import type { AmqpTransport } from '../src/index.js';
import { PrivateRabbit } from './private-rabbit.js';
import { ProxiedTransports, RABBIT_URL, removeNamespace, testNamespace } from './rabbit.js';

const namespace = testNamespace('suite');
const node = process.env['COURIER_AMQP_URL'] === undefined ? await PrivateRabbit.start() : undefined;
const transports = new ProxiedTransports({ namespace }, node?.url ?? RABBIT_URL);

runTransportSuite('rabbitmq', () => transports.open(), {
  kill: (transport) => transports.kill(transport as AmqpTransport),
  ...(node && {
    restart: async () => {
      await transports.closeAll();
      await node.restart();
    },
  }),
});

afterAll(async () => {
  try {
    await transports.close();
  } finally {
    if (node) await node.stop();
    else await removeNamespace(namespace);
  }
}, 60_000);
