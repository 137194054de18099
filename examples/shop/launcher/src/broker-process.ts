/**
 * The broker as the launcher runs it: `courier broker` (the CLI's own code,
 * reading COURIER_PORT, COURIER_HTTP_PORT, COURIER_DATA and the rest from
 * the environment), which also stops, as on SIGTERM, when the launcher that
 * started it goes away.
 */
import { run } from 'courier';

// The IPC channel only tells this process that the launcher went away; it must not keep it alive.
process.channel?.unref();
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
process.exitCode = await run(['broker', ...process.argv.slice(2)]);
