/**
 * Builds the browser app in `app/` into `dist/app/`, beside the Node entry
 * that `tsc -b` writes to `dist/`; the two never touch each other's files.
 * Relative asset URLs (`base: './'`) let the broker serve it from any path.
 * `npm run dev -w @courier/dashboard` serves the app with hot reload and
 * sends `/api` to a broker's HTTP port (COURIER_HTTP, default 127.0.0.1:4271).
 */
import { defineConfig } from 'vite';

const here = (path: string): string => decodeURIComponent(new URL(path, import.meta.url).pathname);

export default defineConfig({
  root: here('./app'),
  base: './',
  logLevel: 'warn',
  server: {
    proxy: { '/api': `http://${globalThis.process?.env['COURIER_HTTP'] ?? '127.0.0.1:4271'}` },
  },
  build: {
    outDir: here('./dist/app'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
});
