/**
 * A private ActiveMQ Classic broker for tests: its own base and data
 * directories under a temp dir, a free loopback port for STOMP, the
 * scheduler on (delays and retry backoff) and KahaDB syncing every
 * receipt. `restart` kills it (SIGKILL, as a crash would) and starts it
 * again on the same data and port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '@courier/testkit';

const JAR = '/usr/share/activemq/bin/activemq.jar';
// Debian splits out what the JSON advisory transformation needs; the private broker links them in.
const EXTRA_JARS = ['/usr/share/java/xstream.jar', '/usr/share/java/jettison.jar'];

/** A running private broker. */
export interface ActiveMq {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  /** Kills the broker (SIGKILL) and starts it again on the same data and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function config(dir: string, port: number): string {
  return `<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="courier-test"
          dataDirectory="${dir}/data" schedulerSupport="true" persistent="true" advisorySupport="true">
    <persistenceAdapter><kahaDB directory="${dir}/data/kahadb"/></persistenceAdapter>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:${port}?transport.maxFrameSize=67108864"/>
    </transportConnectors>
  </broker>
</beans>
`;
}

const LOG4J = `log4j.rootLogger=WARN, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=%d %-5p %c{1} - %m%n
`;

/** Starts a private broker. */
export async function startActiveMq(): Promise<ActiveMq> {
  if (!existsSync(JAR)) {
    throw new Error(`ActiveMQ is not installed (${JAR} is missing); run packages/stomp/ci/setup.sh`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'courier-activemq-'));
  mkdirSync(join(dir, 'conf'));
  mkdirSync(join(dir, 'lib'));
  for (const jar of EXTRA_JARS)
    if (existsSync(jar)) symlinkSync(jar, join(dir, 'lib', jar.split('/').pop() as string));
  const port = await freePort();
  writeFileSync(join(dir, 'conf', 'activemq.xml'), config(dir, port));
  writeFileSync(join(dir, 'conf', 'log4j.properties'), LOG4J);
  const log = join(dir, 'broker.log');
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const { openSync } = await import('node:fs');
    const out = openSync(log, 'a');
    child = spawn(
      'java',
      [
        '-Xms64m',
        '-Xmx384m',
        '-XX:+UseSerialGC',
        `-Dactivemq.home=/usr/share/activemq`,
        `-Dactivemq.base=${dir}`,
        `-Dactivemq.conf=${dir}/conf`,
        `-Dactivemq.data=${dir}/data`,
        `-Dlog4j.configuration=file:${dir}/conf/log4j.properties`,
        '-jar',
        JAR,
        'start',
        `xbean:file:${dir}/conf/activemq.xml`,
      ],
      { stdio: ['ignore', out, out] },
    );
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    try {
      await waitForPort(port, { within: 60_000, what: 'ActiveMQ', exited: () => exited });
    } catch (error) {
      if (!exited) throw error;
      throw new Error(`ActiveMQ exited during start:\n${readFileSync(log, 'utf8').slice(-3000)}`);
    }
  };

  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    const timer = setTimeout(() => running.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(timer);
  };

  await start();
  return {
    host: '127.0.0.1',
    port,
    dir,
    async restart() {
      await kill('SIGKILL');
      await start();
    },
    async stop() {
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
