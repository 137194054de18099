/**
 * @courier/dashboard: the web UI that the broker serves on its HTTP port.
 * The app itself is static files built by Vite (`app/` into `dist/app/`);
 * this entry only tells a server where they are.
 */
import { fileURLToPath } from 'node:url';

/**
 * The absolute path of the built dashboard (a folder with `index.html` and
 * `assets/`), for `startHttpAdmin({ dashboard })`. The folder exists only
 * after `npm run build -w @courier/dashboard` (the root `npm run build`
 * runs it); this function does not check.
 */
export function dashboardDir(): string {
  // Resolves the same from src/index.ts (tests) and dist/index.js (built).
  return fileURLToPath(new URL('../dist/app/', import.meta.url)).replace(/\/$/, '');
}
