/**
 * The bus commands on engines other than Courier's broker, through the same
 * `connect(url)`: pub and sub, and the dead-letter queue on Redis and NATS
 * (the servers this machine runs for the transport suites).
 */
import { type Bus, CourierError, connect } from '@courier/core';
import { eventually, uniqueName } from '@courier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { courier } from './cli-harness.js';

for (const url of ['redis://127.0.0.1:6379', 'nats://127.0.0.1:4222']) {
  describe(`courier on ${url}`, () => {
    let bus: Bus;
    const group = uniqueName('cli-billing');
    const subject = `${uniqueName('cli')}.orders`;

    beforeAll(async () => {
      bus = await connect(url, { service: 'cli-engine-test', onError: () => undefined });
      const failing = bus.subscribe(
        subject,
        () => {
          throw new CourierError('INVALID_MESSAGE', 'always fails');
        },
        { group, retry: { attempts: 1 } },
      );
      await failing.ready;
    });

    afterAll(async () => {
      await bus.deadLetters.purge(group).catch(() => undefined);
      await bus.close({ timeout: 0 });
    });

    it('pub, then dlq list, show and purge the dead letter', async () => {
      const pub = await courier(['pub', subject, '{"n":1}', '--url', url]);
      expect(pub.code, pub.stderr).toBe(0);
      const id = pub.stdout.trim();
      await eventually(
        async () => ((await bus.deadLetters.list(group)).some((entry) => entry.id === id) ? true : undefined),
        `${id} in ${group}'s dead letters`,
      );
      const list = await courier(['dlq', 'list', '--group', group, '--json'], { env: { COURIER_URL: url } });
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toContainEqual(
        expect.objectContaining({ id, subject, error: { code: 'INVALID_MESSAGE', message: 'always fails' } }),
      );
      const show = await courier(['dlq', 'show', '--group', group, id, '--url', url]);
      expect(show.stdout).toContain('always fails');
      const purge = await courier(['dlq', 'purge', '--group', group, id, '--yes', '--url', url]);
      expect(purge.code, purge.stderr).toBe(0);
      expect(purge.stdout.trim()).toBe(`purged 1 dead letter of group ${group}`);
      expect(await bus.deadLetters.list(group)).toEqual([]);
    });
  });
}
