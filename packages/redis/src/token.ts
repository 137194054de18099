/** Tokens that keep sorted-set members distinct. */
import { randomBytes } from 'node:crypto';

/** A random 16-character token (the scripts cut members at 16 characters). */
export function token(): string {
  return randomBytes(8).toString('hex');
}
