/**
 * `npm start`: the launcher of the example shop. Starts the broker and the
 * services, prints the URLs, takes commands on stdin, and on Ctrl-C or
 * SIGTERM stops the services, then the broker, and exits 0.
 */
import { createInterface } from 'node:readline';
import { COMMAND_HELP, parseCommand } from './console-commands.js';
import { engineTarget } from './engine-target.js';
import { ShopLauncher, shopServices } from './shop-launcher.js';

const write = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function runCommand(launcher: ShopLauncher, line: string, quit: () => void): Promise<void> {
  try {
    const command = parseCommand(line, launcher.serviceNames);
    if (command === undefined) return;
    if (command.kind === 'help') for (const text of COMMAND_HELP) launcher.say(text);
    else if (command.kind === 'status') for (const text of launcher.status()) launcher.say(text);
    else if (command.kind === 'quit') quit();
    else {
      for (const name of command.names) {
        if (command.kind !== 'start') await launcher.stopService(name);
        if (command.kind !== 'stop') await launcher.startService(name, command.env);
      }
    }
  } catch (error) {
    launcher.say((error as Error).message);
  }
}

async function main(): Promise<number> {
  const env = { ...process.env };
  let launcher: ShopLauncher;
  try {
    const target = engineTarget(env);
    const ordersPort = Number(env['ORDERS_PORT'] || 3000);
    launcher = new ShopLauncher({
      target,
      services: shopServices(env),
      env: { ...env, ORDERS_PORT: String(ordersPort) },
      ordersPort,
      write,
      color: process.stdout.isTTY === true && env['NO_COLOR'] === undefined,
    });
  } catch (error) {
    console.error(`shop: ${(error as Error).message}`);
    return 2;
  }

  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let stopping = false;
  let stoppedAt = 0;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    stoppedAt = Date.now();
    launcher.say(`${why}: stopping the services, then the broker`);
    void launcher.stop().then(() => {
      launcher.say('stopped');
      finish(0);
    });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stopping) {
      stop(signal);
      return;
    }
    // One Ctrl-C can arrive twice (tools such as timeout(1) signal the process and its group): a second press is a later one.
    if (Date.now() - stoppedAt < 1000) return;
    launcher.say(`${signal} again: killing everything`);
    launcher.kill();
    finish(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  try {
    await launcher.start();
  } catch (error) {
    if (stopping) return finished;
    stopping = true;
    launcher.say(`cannot start the shop: ${(error as Error).message}`);
    await launcher.stop();
    return 1;
  }
  if (stopping) return finished;
  for (const line of launcher.banner()) write(line);
  createInterface({ input: process.stdin, terminal: false }).on('line', (line) => {
    void runCommand(launcher, line, () => stop('quit'));
  });
  return finished;
}

process.exitCode = await main();
// stdin may still hold the event loop open; everything this started has stopped.
process.exit();
