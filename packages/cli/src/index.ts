/** The `courier` command, as a library: `run(argv)` returns the exit code. */

export type { BrokerSettings } from './broker-command.js';
export { brokerSettings, runBroker } from './broker-command.js';
export type { CliInput, CliIo, CliOutput } from './io.js';
export { processIo } from './io.js';
export { run } from './main.js';
