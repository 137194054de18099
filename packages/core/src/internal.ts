/**
 * Internals for sibling packages (transports, the broker, the testkit); not
 * part of the public API and free to change between minor versions.
 */

export type { GroupOptions, LogReader } from './memory/memory-group.js';
export { MemoryGroup } from './memory/memory-group.js';
export { BusRequestHandler } from './request-handler.js';
export { BusSubscription } from './subscription.js';
