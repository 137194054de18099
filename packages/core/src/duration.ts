/**
 * Durations: every duration option takes milliseconds or a string with a
 * unit (`'500ms'`, `'2s'`, `'5m'`, `'1h'`, `'1d'`).
 */
import { CourierError } from './errors.js';

/** Milliseconds, or a number with a unit: `'250ms'`, `'1.5s'`, `'5m'`, `'2h'`, `'1d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

/**
 * Parses a duration into whole milliseconds. `name` is the option's name for
 * the error message.
 * @throws CourierError `INVALID_OPTION` when the value is negative, not finite or malformed.
 */
export function toMillis(value: Duration | string, name: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  } else if (typeof value === 'string') {
    const match = PATTERN.exec(value);
    if (match) return Math.round(Number(match[1]) * (UNITS[match[2] as string] as number));
  }
  throw new CourierError(
    'INVALID_OPTION',
    `${name}: ${JSON.stringify(value)} is not a duration; use milliseconds (500) or a string like '500ms', '2s', '5m', '1h'`,
  );
}

/** Like {@link toMillis}, but `undefined` gives `fallback`. */
export function optionalMillis(value: Duration | string | undefined, name: string, fallback: number): number {
  return value === undefined ? fallback : toMillis(value, name);
}
