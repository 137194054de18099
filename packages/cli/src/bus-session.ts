/**
 * A command's time on the bus: connect with the command's settings, run,
 * and always close (draining what was in flight) before the exit code is
 * returned.
 */
import type { Bus } from '@courier/core';
import { type ConnectionSettings, openBus } from './connection.js';

/** Connects, runs `work` with the bus, and closes the bus whatever happens. */
export async function withBus<T>(settings: ConnectionSettings, work: (bus: Bus) => Promise<T>): Promise<T> {
  const bus = await openBus(settings);
  try {
    return await work(bus);
  } finally {
    await bus.close({ timeout: 5000 }).catch(() => undefined);
  }
}
