import { describe, expect, it } from 'vitest';
import { connect, TRANSPORT_PACKAGES, transportFromUrl } from './connect.js';

describe('connect by URL', () => {
  it('memory:// gives a private engine; memory://name is shared by name in the process', async () => {
    const a = await connect('memory://shared-test');
    const b = await connect('memory://shared-test');
    const lonely = await connect('memory://');
    const got = new Promise((resolve) => b.subscribe('url.test', resolve, { group: 'g' }));
    const nothing: unknown[] = [];
    lonely.subscribe('url.test', (d) => nothing.push(d), { group: 'g' });
    await a.publish('url.test', 'hello');
    await expect(got).resolves.toBe('hello');
    expect(nothing).toEqual([]);
    await Promise.all([a.close(), b.close(), lonely.close()]);
  });

  it("names the package to install when a scheme's transport is missing", async () => {
    const missing = (name: string) => import(`${name}-not-installed-here`);
    for (const [scheme, pkg] of Object.entries(TRANSPORT_PACKAGES)) {
      const error = await transportFromUrl(`${scheme}://localhost:1`, {}, missing).catch((e: unknown) => e);
      expect(error, scheme).toMatchObject({ code: 'TRANSPORT_NOT_INSTALLED', data: { package: pkg } });
      expect(String((error as Error).message)).toContain(`npm install ${pkg}`);
    }
  });

  it('loads the package for the scheme and hands it the URL and options', async () => {
    const calls: unknown[] = [];
    const fake = async (name: string) => ({
      createTransport: async (url: URL, options: Record<string, unknown>) => {
        calls.push([name, url.href, options]);
        return (await import('./memory/memory-transport.js')).memoryTransport();
      },
    });
    const transport = await transportFromUrl('nats://127.0.0.1:4222', { stream: 'X' }, fake);
    expect(transport.engine).toBe('memory');
    expect(calls).toEqual([['@courier/nats', 'nats://127.0.0.1:4222', { stream: 'X' }]]);
    await transport.close();
  });

  it('refuses malformed URLs and unknown schemes with INVALID_URL listing the schemes', async () => {
    await expect(connect('localhost:4270')).rejects.toMatchObject({ code: 'INVALID_URL' });
    await expect(connect('not a url')).rejects.toThrow(/is not a URL/);
    await expect(connect('mqtt://localhost')).rejects.toThrow(
      /unknown scheme mqtt:\/\/ .* use one of memory, courier/,
    );
  });

  it('reports a package that does not export createTransport', async () => {
    await expect(transportFromUrl('redis://x', {}, async () => ({}))).rejects.toThrow(
      /does not export createTransport/,
    );
  });
});
