#!/usr/bin/env node
// `npm start` runs this after `npm run build`: the example shop's launcher (examples/shop/launcher).
import { existsSync } from 'node:fs';

const launcher = new URL('./launcher/dist/main.js', import.meta.url);
if (!existsSync(launcher)) {
  console.error(
    'shop: the launcher is not built yet; run `npm run build` in the repository first (npm start does)',
  );
  process.exit(1);
}
await import(launcher.href);
