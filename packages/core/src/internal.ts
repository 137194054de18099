/**
 * Internals for sibling packages (the broker, the testkit); not part of the
 * public API and free to change between minor versions.
 */

export { bounded } from './bounded.js';
export type { DispatcherHooks, DispatcherOptions } from './local/group-dispatcher.js';
export { GroupDispatcher } from './local/group-dispatcher.js';
export type { LongTimeout } from './long-timeout.js';
export { longTimeout } from './long-timeout.js';
export type { GroupOptions, LogReader } from './memory/memory-group.js';
export { MemoryGroup } from './memory/memory-group.js';
export { BusRequestHandler } from './request-handler.js';
export { BusSubscription } from './subscription.js';
