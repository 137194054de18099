import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, waitForPort } from './processes.js';

describe('processes', () => {
  it('freePort gives a loopback port a server can listen on, and waitForPort sees it listening', async () => {
    const port = await freePort();
    const server = createServer();
    const waiting = waitForPort(port, { within: 5000 });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      await waiting;
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('waitForPort gives up at once when the server has exited, and after `within` otherwise', async () => {
    const port = await freePort();
    await expect(
      waitForPort(port, { within: 60_000, what: 'the broker', exited: () => true }),
    ).rejects.toThrow(`the broker exited before it listened on 127.0.0.1:${port}`);
    await expect(waitForPort(port, { within: 0 })).rejects.toThrow(
      `the server did not listen on 127.0.0.1:${port} within 0 ms`,
    );
  });
});
