/**
 * Restarting the engine, on a private nats-server (the machine's shared one
 * is never stopped): the suite's `engine.restart` case, and a restart in
 * the middle of publishing and consuming, after which the members resume by
 * themselves and every confirmed message arrives.
 */
import { connect } from '@courier/core';
import { Collector, Scope, suiteCases, uniqueName } from '@courier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateServer, startPrivateServer } from './helpers/private-server.js';
import { TestDeployment } from './helpers/shared-server.js';

let server: PrivateServer;
let deployment: TestDeployment;

beforeAll(async () => {
  server = await startPrivateServer();
  deployment = new TestDeployment({ port: server.port });
});
afterAll(async () => {
  await deployment?.remove().catch(() => undefined);
  await server?.stop();
});

describe('nats-server restarts', () => {
  it('[engine.restart] the suite case: a resolved publish is delivered after the engine restarts', async () => {
    const restartCase = suiteCases.find((c) => c.id === 'engine.restart');
    if (!restartCase) throw new Error('the suite has no engine.restart case');
    const scope = new Scope(() => deployment.transport());
    const probe = await deployment.transport();
    const capabilities = probe.capabilities;
    await probe.close();
    const prefix = uniqueName('s');
    try {
      await restartCase.run({
        scope,
        capabilities,
        options: { restart: () => server.restart() },
        prefix,
        name: (label) => `${prefix}-${label}`,
        wait: (ms) => ms,
      });
    } finally {
      await scope.close();
    }
  });

  it('members resume and publishes complete across a restart mid-flight; every confirmed message arrives', async () => {
    const subject = `${uniqueName('s')}.flow`;
    const consumer = await connect(await deployment.transport(), { service: 'consumer' });
    const producer = await connect(await deployment.transport(), { service: 'producer' });
    try {
      const seen = new Collector<number>();
      const sub = consumer.subscribe<number>(subject, (n) => seen.push(n), { group: 'g', concurrency: 8 });
      await sub.ready;
      const confirmed = new Set<number>();
      const total = 300;
      const sends: Array<Promise<void>> = [];
      let restarted: Promise<void> | undefined;
      for (let n = 0; n < total; n++) {
        sends.push(producer.publish(subject, n).then(() => void confirmed.add(n)));
        if (n % 20 === 19) await Promise.all(sends.slice(-20));
        if (n === 100) restarted = server.restart();
      }
      await restarted;
      await Promise.all(sends);
      expect(confirmed.size).toBe(total);
      await seen.until((items) => new Set(items).size >= total, 30_000, 'every confirmed message');
      expect(new Set(seen.items)).toEqual(confirmed);
    } finally {
      await producer.close({ timeout: 1000 });
      await consumer.close({ timeout: 1000 });
    }
  }, 60_000);
});
