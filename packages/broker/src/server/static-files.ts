/**
 * Serves the dashboard's built files from one directory: content types by
 * extension, `index.html` for `/` and for any path without an extension
 * that names no file (the single-page app routes itself), long caching for
 * Vite's hashed `assets/`, and nothing outside the directory: `..`
 * segments, encoded or not, NUL bytes and symlinks that leave it are refused.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { CourierError } from '@courier/core';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Serves `pathname` (still URL-encoded) from the directory; `head` sends headers only. */
export type StaticHandler = (pathname: string, res: ServerResponse, head: boolean) => Promise<void>;

function notFound(pathname: string): CourierError {
  return new CourierError(
    'NOT_FOUND',
    `no dashboard file at ${pathname}; the dashboard starts at / and the API is under /api`,
  );
}

async function fileAt(path: string): Promise<{ size: number } | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? { size: s.size } : undefined;
  } catch {
    return undefined;
  }
}

/** A handler for the files under `dir`. */
export function staticFiles(dir: string): StaticHandler {
  const root = resolve(dir);
  let realRoot: Promise<string> | undefined;
  const inside = (path: string, base: string): boolean => path === base || path.startsWith(base + sep);

  return async (pathname, res, head) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      throw new CourierError('INVALID_OPTION', `the path ${pathname} is not valid URL encoding`);
    }
    const segments = decoded.split('/');
    if (decoded.includes('\0') || decoded.includes('\\') || segments.some((s) => s === '..'))
      throw notFound(pathname);
    let path = resolve(root, `.${decoded}`);
    if (!inside(path, root)) throw notFound(pathname);
    let file = decoded.endsWith('/') ? undefined : await fileAt(path);
    if (!file) {
      // A route of the app (no extension) gets the app; a missing asset is a 404.
      if (extname(decoded) !== '' && !decoded.endsWith('/')) throw notFound(pathname);
      path = resolve(root, 'index.html');
      file = await fileAt(path);
      if (!file)
        throw new CourierError(
          'NOT_FOUND',
          `the dashboard directory ${root} has no index.html; build it with npm run build -w @courier/dashboard`,
        );
    }
    realRoot ??= realpath(root);
    if (!inside(await realpath(path), await realRoot)) throw notFound(pathname);
    res.writeHead(200, {
      'content-type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
      'content-length': file.size,
      'x-content-type-options': 'nosniff',
      'cache-control': decoded.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (head) {
      res.end();
      return;
    }
    await new Promise<void>((done, fail) => {
      const stream = createReadStream(path);
      stream.on('error', fail);
      res.on('close', () => {
        stream.destroy();
        done();
      });
      stream.pipe(res);
    });
  };
}
