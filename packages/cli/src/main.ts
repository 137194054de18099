/**
 * The `courier` command's entry point: parses the command line and runs the
 * subcommand, returning the process exit code. Each command registers from
 * its own file (`commands/*.ts`; the broker's is `broker-command.ts`).
 */
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { brokerSettings, runBroker } from './broker-command.js';
import type { CommandContext } from './command-context.js';
import { registerAdminViews } from './commands/admin-views.js';
import { registerBench } from './commands/bench.js';
import { registerDlq } from './commands/dlq.js';
import { registerPub } from './commands/pub.js';
import { registerReq } from './commands/req.js';
import { registerSub } from './commands/sub.js';
import { ExitCode } from './failures.js';
import { type CliIo, processIo } from './io.js';

/**
 * Runs `courier` with `argv` (without node and the script); resolves with the
 * exit code: 0 done, 1 the operation failed, 2 the command line was wrong.
 * `io` replaces the process's streams and environment (tests capture them).
 */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode = 0;
  const context: CommandContext = {
    io,
    exit: (code) => {
      exitCode = code;
    },
  };
  const program = new Command()
    .name('courier')
    .description(
      'Courier: typed messaging for TypeScript services. Runs the durable broker; publishes, subscribes, requests, shows streams, groups and services, and manages dead letters from a shell.',
    )
    .exitOverride()
    .showHelpAfterError('(courier --help lists the commands; courier <command> --help explains one)')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
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
      'HTTP port for /healthz, /readyz, /api/streams, /api/groups, and the protocol over WebSocket at /courier (courier+ws://) [env COURIER_HTTP_PORT] (default 4271)',
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
      '--tls-cert <file>',
      'PEM certificate: serve the protocol over TLS only (couriers://); needs --tls-key [env COURIER_TLS_CERT]',
    )
    .option('--tls-key <file>', 'PEM private key of --tls-cert [env COURIER_TLS_KEY]')
    .option(
      '--dashboard <dir>',
      "built dashboard to serve at / on the HTTP port, or off (default: @courier/dashboard's build when present) [env COURIER_DASHBOARD]",
    )
    .option(
      '--config <file>',
      'JSON file with any of: data, host, port, httpPort, sync, maxPayload, tlsCert, tlsKey, dashboard, alerts (docs/monitoring.md), tokens (strings, or { token, publish: [patterns], subscribe: [patterns] }) [env COURIER_CONFIG]',
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
  registerPub(program, context);
  registerSub(program, context);
  registerReq(program, context);
  registerAdminViews(program, context);
  registerDlq(program, context);
  registerBench(program, context);
  program.addHelpText(
    'after',
    "\nBus commands take --url (COURIER_URL, any engine: courier://, nats://, amqp://, redis://...);\nstreams, groups and services read the broker's HTTP admin API at --admin (COURIER_ADMIN_URL).\nExit codes: 0 done, 1 the operation failed, 2 the command line was wrong. See docs/cli.md.",
  );
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    throw error;
  }
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.usage;
  }
  return exitCode;
}
