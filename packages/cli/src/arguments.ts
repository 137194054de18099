/**
 * Parsers for numeric flags, as commander option processors: a bad value is
 * reported by commander as a usage error (exit 2) naming the flag.
 */
import { InvalidArgumentError } from 'commander';

/** A whole number of at least `min` (`--count`, `--limit`, `--size`). */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`give a whole number of at least ${min}`);
    }
    return n;
  };
}
