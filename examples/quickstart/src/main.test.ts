import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';

describe('quickstart', () => {
  it('reserves through request-reply and bills through a group', async () => {
    const lines: string[] = [];
    await main('memory://', (line: string) => lines.push(line));
    expect(lines).toEqual(['inventory reserved: true', 'billing o-1: 42 (attempt 1)']);
  });

  it('is the example the README shows, verbatim', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const source = readFileSync(new URL('./main.ts', import.meta.url), 'utf8');
    expect(readme).toContain(source.trim());
  });
});
