/**
 * The conformance suite for amqp10:// on Qpid Proton's example broker: one
 * private broker for this file, on a free port. It is a demonstration
 * broker: plain named queues in memory, deliveries sent pre-settled (at most
 * once), no topics. The skips below are what it cannot do.
 */
import { runTransportSuite } from '@courier/testkit';
import { afterAll, beforeAll } from 'vitest';
import { type ProtonBroker, type ProxiedFactory, proxiedFactory, startProtonBroker } from './brokers.js';

let broker: ProtonBroker;
let proxied: ProxiedFactory;

beforeAll(async () => {
  broker = await startProtonBroker();
  proxied = proxiedFactory(broker.port, { host: '127.0.0.1', broker: 'queues' });
});

afterAll(async () => {
  await proxied?.close();
  await broker?.stop();
});

const oneQueuePerSubject =
  'the Proton example broker has no topics: a subject is one queue shared by every group, so several groups on one subject compete instead of each getting every message';

runTransportSuite('amqp10 on the Qpid Proton example broker', () => proxied.factory(), {
  kill: (transport) => proxied.kill(transport),
  // The example broker hands every delivery out pre-settled, and dead-letter listing takes the queue and
  // puts it back; under a loaded CI machine `bus.dead-letter-replay` has timed out once in several runs.
  // One more try, until that is understood (noted for the next session).
  retry: 1,
  skip: {
    'bus.groups-each-once': oneQueuePerSubject,
    'adapter.dead-letter': `${oneQueuePerSubject} (the case checks a second group on the subject)`,
    'bus.schema-dead-letter': `${oneQueuePerSubject} (the case subscribes two groups to one subject)`,
    'bus.wildcards':
      'the Proton example broker routes by exact address only; Courier refuses wildcard patterns there with UNSUPPORTED',
    'bus.dead-member':
      'the Proton example broker sends every delivery pre-settled (at most once, by its design): a member that dies loses what it held, nothing is redelivered',
    'engine.restart':
      'the Proton example broker keeps its queues in memory: a restart loses them (the transport declares durable: false there)',
    'stress.delivery':
      'the Proton example broker is at most once to consumers (pre-settled deliveries) and has one queue per subject, so killed members lose messages and groups compete',
  },
});
