/**
 * The `courier` command's entry point: parses the command line and runs the
 * subcommand, returning the process exit code.
 */
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { brokerSettings, runBroker } from './broker-command.js';

/** Runs `courier` with `argv` (without node and the script); resolves with the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('courier')
    .description('Courier: typed messaging for TypeScript services. Runs the durable broker.')
    .exitOverride()
    .showHelpAfterError();
  program
    .command('broker')
    .description('start the durable broker: the courier:// protocol on TCP, and HTTP for health and admin')
    .option('--data <dir>', 'data directory, created when missing [env COURIER_DATA] (default ./.courier)')
    .option(
      '--host <host>',
      'interface to listen on; 0.0.0.0 for every one [env COURIER_HOST] (default 127.0.0.1)',
    )
    .option('--port <n>', 'TCP port of the courier:// protocol [env COURIER_PORT] (default 4270)')
    .option(
      '--http-port <n>',
      'HTTP port for /healthz, /readyz, /api/streams, /api/groups [env COURIER_HTTP_PORT] (default 4271)',
    )
    .option(
      '--sync <policy>',
      'sync (fdatasync before confirming, default), none, or a number of ms between syncs [env COURIER_SYNC]',
    )
    .option(
      '--token <tokens>',
      'comma-separated tokens clients must present; none means no auth [env COURIER_TOKEN]',
    )
    .option(
      '--config <file>',
      'JSON file with any of: data, host, port, httpPort, sync, maxPayload, tokens (strings, or { token, publish: [patterns], subscribe: [patterns] }) [env COURIER_CONFIG]',
    )
    .addHelpText(
      'after',
      '\nFlags win over environment variables, which win over the config file.\nLogs are JSON lines on stdout. Stop with Ctrl-C or SIGTERM: accepted publishes are confirmed first.\n\nExample:\n  courier broker --data ./.courier --port 4270\n  COURIER_URL=courier://localhost:4270 node your-service.js',
    )
    .action(async (flags: Record<string, string | undefined>) => {
      const log = pino({ base: { service: 'courier-broker' } });
      try {
        exitCode = await runBroker(await brokerSettings(flags, process.env), log);
      } catch (error) {
        // Bad flags or config: a plain line that says what to fix, not a log record with a stack.
        console.error(`courier broker: ${(error as Error).message}`);
        exitCode = 2;
      }
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  return exitCode;
}
