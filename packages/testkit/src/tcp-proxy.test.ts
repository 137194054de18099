import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTcpProxy } from './tcp-proxy.js';

describe('tcp proxy', () => {
  it('forwards bytes both ways and cuts every connection on dropAll', async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as { port: number }).port;
    await using proxy = await startTcpProxy({ port });
    const { connect } = await import('node:net');
    const client = connect({ port: proxy.port, host: '127.0.0.1' });
    const reply = new Promise<string>((resolve) => client.once('data', (d) => resolve(d.toString())));
    client.write('ping');
    expect(await reply).toBe('ping');
    expect(proxy.connections).toBe(1);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    proxy.dropAll();
    await closed;
    expect(proxy.connections).toBe(0);
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });
});
