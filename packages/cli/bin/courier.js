#!/usr/bin/env node
// The `courier` command. The TypeScript sources build to ../dist (npm run build).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('courier: the CLI is not built yet; run `npm run build` in the repository first');
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
