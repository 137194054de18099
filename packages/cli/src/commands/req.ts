/**
 * `courier req <subject> [data]`: sends a request to one handler of the
 * subject and prints its reply.
 */
import { assertSubject, CourierError } from '@courier/core';
import type { Command } from 'commander';
import { withBus } from '../bus-session.js';
import { type CommandContext, runCommand } from '../command-context.js';
import { busOptions, type ConnectionFlags, connectionSettings, positiveMillis } from '../connection.js';
import { OperationFailure } from '../failures.js';
import { writeLine } from '../io.js';
import { collectHeader, formatData, jsonData, readData } from '../message-input.js';

interface ReqFlags extends ConnectionFlags {
  timeout?: string;
  header?: Record<string, string>;
}

/** Codes the link or the broker raises; any other error in a reply is the handler's. */
const LINK_CODES: ReadonlySet<string> = new Set([
  'CONNECTION_CLOSED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'PAYLOAD_TOO_LARGE',
  'PROTOCOL_ERROR',
]);

/** Rewords the errors a person at a shell meets most, with what to do next. */
function explain(error: unknown, subject: string, timeout: number): unknown {
  if (CourierError.is(error, 'NO_RESPONDERS')) {
    return new CourierError(
      'NO_RESPONDERS',
      `no service handles ${subject}; start one that does (courier services lists what each handles)`,
      { cause: error },
    );
  }
  if (CourierError.is(error, 'TIMEOUT')) {
    return new CourierError(
      'TIMEOUT',
      `no reply on ${subject} within ${timeout} ms; the handler is slow or stuck: raise --timeout or check the service's logs`,
      { cause: error },
    );
  }
  if (error instanceof CourierError && !LINK_CODES.has(error.code)) {
    return new OperationFailure(error, `the handler of ${subject} answered with an error: ${error.message}`);
  }
  return error;
}

/** Registers `req`. */
export function registerReq(program: Command, context: CommandContext): void {
  busOptions(
    program
      .command('req')
      .description('send a request to one handler of a subject and print the reply')
      .argument('<subject>', 'the subject, such as inventory.reserve')
      .argument(
        '[data]',
        'the request: JSON when it parses as JSON, else text; read from stdin when left out',
      )
      .option('--timeout <duration>', 'how long to wait for the reply (default 2s)')
      .option('--header <name=value>', 'a header, repeatable', collectHeader),
  )
    .addHelpText(
      'after',
      `
Exit 1 when no handler is registered (NO_RESPONDERS), the reply does not come in time (TIMEOUT),
or the handler answered with an error (its code and message are printed).

Examples:
  courier req inventory.reserve '{"sku":"A-1","qty":2}'
  courier req inventory.reserve '{"sku":"A-1","qty":2}' --timeout 5s --json`,
    )
    .action(async (subject: string, argument: string | undefined, flags: ReqFlags) => {
      const { io } = context;
      await runCommand(context, { name: 'req', json: flags.json === true }, async () => {
        const settings = connectionSettings(flags, io);
        assertSubject(subject, { wildcards: false });
        const timeout = flags.timeout === undefined ? 2000 : positiveMillis(flags.timeout, '--timeout');
        const { data, codec } = await readData(argument, io.stdin, 'req');
        const reply = await withBus(settings, (bus) =>
          bus
            .request(subject, data, {
              timeout,
              codec,
              ...(flags.header !== undefined ? { headers: flags.header } : {}),
            })
            .catch((error: unknown) => {
              throw explain(error, subject, timeout);
            }),
        );
        writeLine(io.stdout, settings.json ? JSON.stringify(jsonData(reply)) : formatData(reply));
        return 0;
      });
    });
}
