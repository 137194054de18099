import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@courier/core';
import { afterAll, describe, expect, it } from 'vitest';

const dir = await mkdtemp(join(tmpdir(), 'courier-embedded-url-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('embedded:// by URL', () => {
  it('connects two buses to one engine in this process, durable on disk', async () => {
    const url = `embedded://${dir}`;
    await using producer = await connect(url, { service: 'orders' });
    await using consumer = await connect(url, { service: 'billing' });
    const got = new Promise((resolve) => consumer.subscribe('orders.created', resolve, { group: 'billing' }));
    await producer.publish('orders.created', { id: 'o-1' });
    await expect(got).resolves.toEqual({ id: 'o-1' });
    expect(producer.transport.capabilities.durable).toBe(true);
  });

  it('refuses a URL without a directory, saying what to use', async () => {
    await expect(connect('embedded://')).rejects.toThrow(
      /names no directory; use embedded:\/\/\.\/\.courier/,
    );
  });
});
