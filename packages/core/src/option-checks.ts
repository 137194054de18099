/** Checks shared by every option that takes a count. */
import { CourierError } from './errors.js';

/**
 * Returns `value`, or `fallback` when it is undefined.
 * @throws CourierError `INVALID_OPTION` when it is not a whole number of at least `min`.
 */
export function wholeNumber(
  value: number | undefined,
  name: string,
  options: { min: number; fallback: number },
): number {
  if (value === undefined) return options.fallback;
  if (!Number.isInteger(value) || value < options.min) {
    throw new CourierError(
      'INVALID_OPTION',
      `${name} must be a whole number of at least ${options.min}, got ${String(value)}`,
    );
  }
  return value;
}
