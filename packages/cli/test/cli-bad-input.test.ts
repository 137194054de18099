/**
 * `courier` given bad input: every case ends with one clear line that says
 * what to do and the documented exit code (2 for a wrong command line, 1 for
 * a failed operation), and none of them hangs.
 */
import { freePort } from '@courier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { courier, type TestBroker, testBroker } from './cli-harness.js';

describe('courier with a wrong command line (exit 2)', () => {
  it('names an unknown command and points at --help', async () => {
    const out = await courier(['publish', 'a.b', 'x']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("unknown command 'publish'");
    expect(out.stderr).toContain('courier --help');
  });

  it('refuses a malformed subject before connecting, naming the problem', async () => {
    // Nothing listens on this URL: the subject is refused first, without waiting for a broker.
    const out = await courier(['pub', 'a..b', 'x', '--url', `courier://127.0.0.1:${await freePort()}`]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('invalid subject "a..b"');
    expect(out.stderr).toContain("contain '..'");
    expect(out.stdout).toBe('');
  });

  it('refuses a wildcard subject for pub and req, but not for sub', async () => {
    const pub = await courier(['pub', 'orders.*', '1']);
    expect(pub.code).toBe(2);
    expect(pub.stderr).toContain('wildcards');
    const req = await courier(['req', 'orders.>', '1']);
    expect(req.code).toBe(2);
  });

  it('refuses a bad number, a bad duration and a bad header, naming the flag', async () => {
    const count = await courier(['pub', 'a.b', 'x', '--count', 'lots']);
    expect(count.code).toBe(2);
    expect(count.stderr).toContain("option '--count <n>' argument 'lots' is invalid");
    const delay = await courier(['pub', 'a.b', 'x', '--delay', 'soon']);
    expect(delay.code).toBe(2);
    expect(delay.stderr).toContain('"soon" is not a duration');
    const timeout = await courier(['req', 'a.b', 'x', '--timeout', '0s']);
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('--timeout must be longer than zero');
    const header = await courier(['pub', 'a.b', 'x', '--header', 'novalue']);
    expect(header.code).toBe(2);
    expect(header.stderr).toContain('name=value');
  });

  it('asks for --group on dlq commands', async () => {
    const out = await courier(['dlq', 'list']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("required option '--group <group>' not specified");
  });

  it('asks for data when there is no argument and stdin is a terminal', async () => {
    const out = await courier(['pub', 'a.b'], { tty: true });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('give it as an argument');
  });

  it('refuses an admin URL that is not http', async () => {
    const out = await courier(['streams', '--admin', 'courier://127.0.0.1:4270']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--admin must be an http:// or https:// URL');
  });

  it('explains an unknown URL scheme', async () => {
    const out = await courier(['pub', 'a.b', 'x', '--url', 'carrier-pigeon://coop']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('unknown scheme carrier-pigeon://');
  });
});

describe('courier against a broker that is not there (exit 1, within seconds)', () => {
  it('names the bus URL and says how to start a broker', async () => {
    const url = `courier://127.0.0.1:${await freePort()}`;
    for (const argv of [
      ['pub', 'a.b', 'x'],
      ['sub', 'a.b', '--count', '1'],
      ['req', 'a.b', 'x'],
      ['dlq', 'list', '--group', 'g'],
      ['bench', '--count', '10'],
    ]) {
      const out = await courier([...argv, '--url', url, '--connect-timeout', '3s']);
      expect(out.code, argv.join(' ')).toBe(1);
      expect(out.stderr).toContain(url);
      expect(out.stderr).toContain('courier broker');
      expect(out.stderr).toContain('--url');
    }
  });

  it('names the admin URL for streams, groups and services', async () => {
    const admin = `http://127.0.0.1:${await freePort()}`;
    for (const command of ['streams', 'groups', 'services']) {
      const out = await courier([command, '--admin', admin]);
      expect(out.code).toBe(1);
      expect(out.stderr).toContain(`cannot reach the broker's admin API at ${admin}/api/${command}`);
      expect(out.stderr).toContain('COURIER_ADMIN_URL');
    }
  });

  it('takes the URL from COURIER_URL, and --json errors are JSON on stderr', async () => {
    const url = `courier://127.0.0.1:${await freePort()}`;
    const out = await courier(['pub', 'a.b', 'x', '--json'], { env: { COURIER_URL: url } });
    expect(out.code).toBe(1);
    const error = JSON.parse(out.stderr) as { error: { code: string; message: string } };
    expect(error.error.code).toBe('CONNECTION_CLOSED');
    expect(error.error.message).toContain(url);
  });
});

describe('courier against a broker with tokens', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await testBroker({ tokens: ['s3cret'] });
  });
  afterAll(async () => broker.close());

  it('reports a wrong token with what to pass, and never prints the token', async () => {
    const out = await courier(['pub', 'a.b', 'x', '--url', broker.url, '--token', 'wrong-token']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('[UNAUTHORIZED]');
    expect(out.stderr).toContain('--token or COURIER_TOKEN');
    expect(out.stderr).not.toContain('wrong-token');
  });

  it('reports a missing token the same way', async () => {
    const out = await courier(['req', 'a.b', 'x', '--url', broker.url]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('[UNAUTHORIZED]');
  });

  it('reports a wrong or missing token for the admin API, and never prints the token', async () => {
    for (const command of ['streams', 'groups', 'services']) {
      const wrong = await courier([command, '--admin', broker.adminUrl, '--token', 'wrong-token']);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('[UNAUTHORIZED]');
      expect(wrong.stderr).toContain('--token or COURIER_TOKEN');
      expect(wrong.stderr).not.toContain('wrong-token');
      const missing = await courier([command, '--admin', broker.adminUrl]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('[UNAUTHORIZED]');
      const right = await courier([command, '--json', ...broker.adminFlags]);
      expect(right.code, right.stderr).toBe(0);
      expect(Array.isArray(JSON.parse(right.stdout))).toBe(true);
    }
  });

  it('works with the right token, from the flag or COURIER_TOKEN', async () => {
    const flag = await courier(['pub', 'a.b', '1', ...broker.bus]);
    expect(flag.code).toBe(0);
    const env = await courier(['pub', 'a.b', '2', '--url', broker.url], { env: { COURIER_TOKEN: 's3cret' } });
    expect(env.code).toBe(0);
  });
});

describe('courier dlq with ids that are not there', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await testBroker();
  });
  afterAll(async () => broker.close());

  it('show, replay and purge name the missing id, change nothing and exit 1', async () => {
    const show = await courier(['dlq', 'show', '--group', 'billing', 'no-such-id', ...broker.bus]);
    expect(show.code).toBe(1);
    expect(show.stderr).toContain('no dead letter no-such-id in group billing');
    expect(show.stderr).toContain('courier dlq list --group billing');
    const replay = await courier(['dlq', 'replay', '--group', 'billing', 'no-such-id', ...broker.bus]);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain('[NOT_FOUND]');
    const purge = await courier(['dlq', 'purge', '--group', 'billing', 'no-such-id', '--yes', ...broker.bus]);
    expect(purge.code).toBe(1);
    expect(purge.stderr).toContain('nothing was changed');
  });
});
