/**
 * Every TypeScript block in the README, as a reader would paste it: each is
 * written to a file of its own, the lot is type-checked with the
 * repository's compiler options, and each block (except those marked
 * `ts test-file`, which call the test runner) is run on the memory
 * transport, where it must finish without an error.
 */

import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url);
// Under dist/ (ignored by git and the linter), so that imports resolve as in the repository.
const DIR = new URL('../dist/readme-blocks/', import.meta.url);

interface Block {
  lang: string;
  tag: string | undefined;
  code: string;
  line: number;
}

function readmeBlocks(): Block[] {
  const text = readFileSync(new URL('README.md', ROOT), 'utf8');
  const blocks: Block[] = [];
  for (const match of text.matchAll(/^```(\w*)(?: ([\w-]+))?\n([\s\S]*?)^```$/gm)) {
    const line = text.slice(0, match.index).split('\n').length;
    blocks.push({ lang: match[1] ?? '', tag: match[2], code: match[3] ?? '', line });
  }
  return blocks;
}

const blocks = readmeBlocks().filter((block) => block.lang === 'ts');
const files = blocks.map((block) => fileURLToPath(new URL(`readme-line-${block.line}.ts`, DIR)));

function typeErrors(paths: string[]): string[] {
  const base = ts.readConfigFile(fileURLToPath(new URL('tsconfig.base.json', ROOT)), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(base.config, ts.sys, fileURLToPath(ROOT));
  const program = ts.createProgram(paths, {
    ...options,
    noEmit: true,
    composite: false,
    declaration: false,
    declarationMap: false,
    customConditions: ['source'],
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file
      ? `${diagnostic.file.fileName}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}`
      : '';
    return `${where} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}

afterAll(() => rm(DIR, { recursive: true, force: true }));

describe('the README', () => {
  it('has the blocks this test expects', () => {
    // The quickstart, the six patterns, testing with memory and the conformance suite.
    expect(blocks.length).toBeGreaterThanOrEqual(9);
    for (const block of readmeBlocks()) {
      expect(['ts', 'sh', 'text'], `README line ${block.line}: a \`\`\`${block.lang} block`).toContain(
        block.lang,
      );
    }
  });

  it('type-checks every TypeScript block', async () => {
    await mkdir(DIR, { recursive: true });
    await Promise.all(blocks.map((block, i) => writeFile(files[i] as string, block.code)));
    expect(typeErrors(files)).toEqual([]);
  }, 120_000);

  for (const [i, block] of blocks.entries()) {
    if (block.tag === 'test-file') continue;
    it(`runs the block at README line ${block.line}`, async () => {
      const file = files[i] as string;
      await mkdir(DIR, { recursive: true });
      await writeFile(file, block.code);
      await import(pathToFileURL(file).href);
    }, 30_000);
  }
});
