/**
 * Runs every `ts` example of docs/observability.md as a module and checks
 * that it prints what its `// prints:` comments say.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, propagation, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it, vi } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const docs = await readFile(join(here, '../../../../docs/observability.md'), 'utf8');
const examples = [...docs.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
// Inside the package, so that '@courier/core' and the dependencies resolve as they do for users.
const dir = await mkdtemp(join(here, '../../.doc-examples-'));

afterAll(async () => {
  trace.disable();
  context.disable();
  propagation.disable();
  await rm(dir, { recursive: true, force: true });
});

describe('docs/observability.md examples', () => {
  it('has examples to run', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  it.each(examples.map((code, index) => ({ code, index })))(
    'example $index runs and prints what it says',
    async ({ code, index }) => {
      const file = join(dir, `example-${index}.ts`);
      await writeFile(file, `${code}\nexport {};\n`);
      const printed: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        printed.push(args.map(String).join(' '));
      });
      try {
        await import(file);
      } finally {
        log.mockRestore();
      }
      const promised = [...code.matchAll(/^\/\/ prints: (.*)$/gm)].map((match) => match[1]);
      expect(promised.length).toBeGreaterThan(0);
      for (const line of promised) expect(printed).toContain(line);
    },
  );
});
