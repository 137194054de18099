/**
 * The memory transport: a connection to a `MemoryEngine` in the same
 * process, with every capability. Applications use it in their unit tests;
 * `without` hides capabilities so the Bus's gap filling can be tested too.
 */
import { LocalTransport } from '../local/local-transport.js';
import type { Capability } from '../transport.js';
import { MemoryEngine } from './memory-engine.js';

/** Options for {@link memoryTransport}. */
export interface MemoryTransportOptions {
  /** The engine to connect to. Default: a new private engine. */
  engine?: MemoryEngine;
  /** Capabilities to hide, to exercise the Bus's gap filling. */
  without?: readonly Capability[];
}

/** A connection to a memory engine. */
export type MemoryTransport = LocalTransport<MemoryEngine>;

/** A memory transport; see {@link MemoryTransportOptions}. */
export function memoryTransport(options: MemoryTransportOptions = {}): MemoryTransport {
  const transport = new LocalTransport({
    engine: options.engine ?? new MemoryEngine(),
    without: options.without ?? [],
  });
  return transport;
}
