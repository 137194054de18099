import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CourierError, ErrorCodes, toCourierError } from './errors.js';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('errors', () => {
  it('docs/errors.md has a section for every code, and no section for a code that does not exist', () => {
    const documented = [...docs.matchAll(/^## ([A-Z_]+)\s*$/gm)].map((m) => m[1]);
    for (const code of Object.keys(ErrorCodes))
      expect(documented, `docs/errors.md lacks "## ${code}"`).toContain(code);
    for (const code of documented)
      expect(Object.keys(ErrorCodes), `docs/errors.md documents unknown ${code}`).toContain(code);
  });

  it('each documented code says whether it is retryable, as the code does', () => {
    for (const [code, { retryable }] of Object.entries(ErrorCodes)) {
      const section = docs.split(`## ${code}\n`)[1]?.split('\n## ')[0] ?? '';
      expect(section.trim().startsWith(retryable ? 'Retryable.' : 'Not retryable'), code).toBe(true);
    }
  });

  it('round-trips through the wire form without stack or cause', () => {
    const error = new CourierError('OUT_OF_STOCK', 'sku A is gone', {
      data: { sku: 'A' },
      retryable: true,
      cause: new Error('db'),
    });
    const wire = JSON.parse(JSON.stringify(error.toWire()));
    expect(wire).toEqual({
      code: 'OUT_OF_STOCK',
      message: 'sku A is gone',
      retryable: true,
      data: { sku: 'A' },
    });
    const back = CourierError.fromWire(wire);
    expect(back).toBeInstanceOf(CourierError);
    expect(back).toMatchObject({
      code: 'OUT_OF_STOCK',
      message: 'sku A is gone',
      retryable: true,
      data: { sku: 'A' },
    });
  });

  it('takes retryable from the code unless told otherwise', () => {
    expect(new CourierError('TIMEOUT', 'x').retryable).toBe(true);
    expect(new CourierError('INVALID_MESSAGE', 'x').retryable).toBe(false);
    expect(new CourierError('SOMETHING_NEW', 'x').retryable).toBe(false);
  });

  it('rebuilds malformed wire errors from foreign peers instead of throwing', () => {
    expect(CourierError.fromWire(null)).toMatchObject({ code: 'INTERNAL' });
    expect(CourierError.fromWire({ message: 42 })).toMatchObject({
      code: 'INTERNAL',
      message: 'peer reported INTERNAL',
    });
  });

  it('wraps foreign errors with a fallback code and keeps the cause', () => {
    const cause = new TypeError('bad');
    const wrapped = toCourierError(cause, 'HANDLER_ERROR');
    expect(wrapped).toMatchObject({ code: 'HANDLER_ERROR', message: 'bad', cause });
    const same = new CourierError('TIMEOUT', 't');
    expect(toCourierError(same)).toBe(same);
  });
});
