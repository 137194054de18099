/** The `courier` command, as a library: `run(argv)` returns the exit code. */

export type { BrokerSettings } from './broker-command.js';
export { brokerSettings, runBroker } from './broker-command.js';
export { run } from './main.js';
