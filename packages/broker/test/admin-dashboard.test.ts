/**
 * The dashboard's static files on the broker's HTTP port: content types,
 * the single-page fallback, caching of hashed assets, no token needed, and
 * nothing outside the dashboard directory reachable however the path is
 * spelled.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './admin-fixture.js';

let f: Fixture;
let root: string;

/** A GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(
  path: string,
  method = 'GET',
): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: f.admin.port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'courier-dashboard-'));
  const dist = join(root, 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>Courier</title>');
  await writeFile(join(dist, 'assets', 'app-1a2b.js'), 'console.log("app")');
  await writeFile(join(dist, 'assets', 'app-1a2b.css'), 'body{}');
  await writeFile(join(dist, 'favicon.svg'), '<svg/>');
  await writeFile(join(root, 'secret.txt'), 'do not serve');
  await symlink(join(root, 'secret.txt'), join(dist, 'leak.txt'));
  f = await startFixture({ dashboard: dist, tokens: ['t'] });
});
afterAll(async () => {
  await f.close();
  await rm(root, { recursive: true, force: true });
});

describe('dashboard files', () => {
  it('serves files with their content types, without a token', async () => {
    expect(await rawGet('/')).toMatchObject({
      status: 200,
      type: 'text/html; charset=utf-8',
      body: '<!doctype html><title>Courier</title>',
    });
    expect(await rawGet('/assets/app-1a2b.js')).toMatchObject({
      status: 200,
      type: 'text/javascript; charset=utf-8',
    });
    expect(await rawGet('/assets/app-1a2b.css')).toMatchObject({
      status: 200,
      type: 'text/css; charset=utf-8',
    });
    expect(await rawGet('/favicon.svg')).toMatchObject({ status: 200, type: 'image/svg+xml' });
    const head = await rawGet('/favicon.svg', 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
    const cached = await fetch(`${f.http}/assets/app-1a2b.js`);
    expect(cached.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${f.http}/`)).headers.get('cache-control')).toBe('no-cache');
  });

  it('answers app routes with index.html, and a missing asset with 404', async () => {
    expect(await rawGet('/groups/billing')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    const missing = await rawGet('/assets/gone.js');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('never serves a file outside the dashboard directory', async () => {
    for (const path of [
      '/../secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/leak.txt',
      '/index.html%00.js',
    ]) {
      const r = await rawGet(path);
      expect(r.body, path).not.toContain('do not serve');
      expect([400, 404], path).toContain(r.status);
    }
    expect((await rawGet('/%E0%A4%A')).status).toBe(400);
  });

  it('keeps the API behind the token while files are open', async () => {
    expect((await rawGet('/api/overview')).status).toBe(401);
    expect((await rawGet('/metrics')).status).toBe(401);
  });

  it('exposes the node HTTP server and disposes with await using', async () => {
    expect(typeof f.admin.server.on).toBe('function');
    expect(f.admin.server.listening).toBe(true);
    expect(typeof f.admin[Symbol.asyncDispose]).toBe('function');
  });
});
