/**
 * Message ids: UUIDv7, so ids sort by creation time and engines can use them
 * as dedup keys and index them cheaply.
 */
import { uuidv7 } from 'uuidv7';

/** A new time-ordered message id (UUIDv7). */
export function newId(): string {
  return uuidv7();
}
