/**
 * The conformance suite on the memory transport: every case, no skips. Then
 * again with capabilities hidden, to prove the Bus's gap filling.
 */
import { MemoryEngine, type MemoryTransport, memoryTransport } from '@courier/core';
import { runTransportSuite } from '@courier/testkit';

function memorySuite(name: string, without: Parameters<typeof memoryTransport>[0] = {}): void {
  const engine = new MemoryEngine();
  const open = new Set<MemoryTransport>();
  const factory = (): MemoryTransport => {
    const transport = memoryTransport({ ...without, engine });
    open.add(transport);
    return transport;
  };
  runTransportSuite(name, factory, {
    kill: (transport) => (transport as MemoryTransport).kill(),
    // The engine keeps its state, as a durable engine's disk would; every connection to it dies.
    restart: async () => {
      for (const transport of open) transport.kill();
      open.clear();
    },
  });
}

memorySuite('memory');

// The same cases where the engine lacks what the Bus can fill: delayed
// delivery, retry delays and key ordering (inside one member).
memorySuite('memory without delay, nackDelay, keyOrdering (filled by the Bus)', {
  without: ['delay', 'nackDelay', 'keyOrdering'],
});
