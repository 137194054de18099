// A private ActiveMQ Classic for the benchmark: temp base and data dirs, a free
// port, the scheduler on, KahaDB syncing each persistent message. Needs
// packages/stomp/ci/setup.sh to have run.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const JAR = '/usr/share/activemq/bin/activemq.jar';

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const listening = (port) =>
  new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

export async function startBroker() {
  const dir = mkdtempSync(join(tmpdir(), 'courier-bench-activemq-'));
  mkdirSync(join(dir, 'conf'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'conf', 'activemq.xml'),
    `<beans xmlns="http://www.springframework.org/schema/beans" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="bench" dataDirectory="${dir}/data" schedulerSupport="true">
    <persistenceAdapter><kahaDB directory="${dir}/data/kahadb"/></persistenceAdapter>
    <transportConnectors><transportConnector name="stomp" uri="stomp://127.0.0.1:${port}"/></transportConnectors>
  </broker>
</beans>`,
  );
  writeFileSync(
    join(dir, 'conf', 'log4j.properties'),
    'log4j.rootLogger=WARN, out\nlog4j.appender.out=org.apache.log4j.ConsoleAppender\nlog4j.appender.out.layout=org.apache.log4j.SimpleLayout\n',
  );
  const child = spawn(
    'java',
    [
      '-Xmx512m',
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
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 60_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error('ActiveMQ did not start; run packages/stomp/ci/setup.sh');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host: '127.0.0.1',
    port,
    stop: async () => {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
