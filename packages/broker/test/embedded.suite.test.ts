/**
 * The conformance suite on the broker's engine in this process
 * (`embedded://`), with real restarts: the engine is closed and reopened
 * from its directory, as after a process restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTransportSuite } from '@courier/testkit';
import { afterAll } from 'vitest';
import { BrokerEngine, type EmbeddedTransport, embeddedTransport } from '../src/index.js';

const dir = await mkdtemp(join(tmpdir(), 'courier-embedded-suite-'));
let engine = await BrokerEngine.open({ dir });
const open = new Set<EmbeddedTransport>();

runTransportSuite(
  'embedded',
  () => {
    const transport = embeddedTransport(engine);
    open.add(transport);
    return transport;
  },
  {
    kill: (transport) => (transport as EmbeddedTransport).kill(),
    restart: async () => {
      for (const transport of open) transport.kill();
      open.clear();
      await engine.close();
      engine = await BrokerEngine.open({ dir });
    },
  },
);

afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});
