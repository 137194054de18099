/**
 * Helpers for tests that start their own servers (a private broker, a
 * restartable engine): a free loopback port to give the server, and a wait
 * until it accepts connections, for servers with no better sign of being
 * ready. Servers that print a line or answer a handshake when ready are
 * better waited for by that event, which each test's helper knows.
 */
import { connect, createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: the OS picks it for a
 * listener that is closed at once. Another process may take it before the
 * caller binds it; that is rare enough for tests.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free TCP port on 127.0.0.1');
  return address.port;
}

/** Options of {@link waitForPort}. */
export interface WaitForPortOptions {
  /** How long to wait, in milliseconds. */
  within: number;
  /** The server's name in error messages; `the server` by default. */
  what?: string;
  /** True once the server's process is gone: stop waiting at once instead of until `within`. */
  exited?: () => boolean;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:`port`,
 * trying every 100 ms; rejects after `within` ms, or as soon as `exited`
 * says the server's process is gone. For servers that say nothing when they
 * are ready: where a log line or a handshake says more, wait for that.
 */
export async function waitForPort(port: number, options: WaitForPortOptions): Promise<void> {
  const what = options.what ?? 'the server';
  const deadline = Date.now() + options.within;
  while (!(await accepts(port))) {
    if (options.exited?.()) throw new Error(`${what} exited before it listened on 127.0.0.1:${port}`);
    if (Date.now() > deadline)
      throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${options.within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
