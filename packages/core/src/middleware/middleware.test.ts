import { describe, expect, it } from 'vitest';
import { connect } from '../connect.js';
import { CourierError } from '../errors.js';
import { bulkhead } from './bulkhead.js';
import { circuitBreaker } from './circuit-breaker.js';
import { type Call, type Middleware, runMiddleware } from './compose.js';
import { retry } from './retry.js';
import { timeout } from './timeout.js';

const call: Call = { kind: 'request', subject: 'a.b', data: 1, headers: {} };

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('middleware', () => {
  it('composes outermost first', async () => {
    const order: string[] = [];
    const tag =
      (name: string): Middleware =>
      async (_call, next) => {
        order.push(`${name}>`);
        const result = await next();
        order.push(`<${name}`);
        return result;
      };
    await expect(runMiddleware([tag('a'), tag('b')], call, async () => order.push('core'))).resolves.toBe(3);
    expect(order).toEqual(['a>', 'b>', 'core', '<b', '<a']);
  });

  it('timeout fails a slow call with TIMEOUT and lets fast ones through', async () => {
    const slow = gate();
    await expect(runMiddleware([timeout('20ms')], call, () => slow.opened)).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    slow.open();
    await expect(runMiddleware([timeout(1000)], call, async () => 'ok')).resolves.toBe('ok');
    expect(() => timeout('soon' as '1s')).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('retry repeats retryable failures up to its attempts and not others', async () => {
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw new CourierError('NO_RESPONDERS', 'not yet');
      return 'done';
    };
    await expect(runMiddleware([retry({ attempts: 3, delay: 1 })], call, flaky)).resolves.toBe('done');
    expect(calls).toBe(3);
    calls = 0;
    const broken = async () => {
      calls++;
      throw new CourierError('INVALID_MESSAGE', 'bad');
    };
    await expect(runMiddleware([retry({ attempts: 5, delay: 1 })], call, broken)).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
    });
    expect(calls).toBe(1);
    calls = 0;
    const down = async () => {
      calls++;
      throw new CourierError('TIMEOUT', 'down');
    };
    await expect(runMiddleware([retry({ attempts: 2, delay: 1 })], call, down)).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    expect(calls).toBe(2);
  });

  it('circuit breaker opens after the threshold, fails fast, and closes after a good trial', async () => {
    const breaker = circuitBreaker({ threshold: 2, resetAfter: 30 });
    let healthy = false;
    let calls = 0;
    const target = async () => {
      calls++;
      if (!healthy) throw new CourierError('TIMEOUT', 'down');
      return 'up';
    };
    for (let i = 0; i < 2; i++)
      await expect(runMiddleware([breaker], call, target)).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(runMiddleware([breaker], call, target)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(calls).toBe(2);
    await expect(
      runMiddleware([breaker], { ...call, subject: 'other.subject' }, async () => 'fine'),
    ).resolves.toBe('fine');
    await new Promise((resolve) => setTimeout(resolve, 40)); // the reset time is the behaviour under test
    healthy = true;
    await expect(runMiddleware([breaker], call, target)).resolves.toBe('up');
    await expect(runMiddleware([breaker], call, target)).resolves.toBe('up');
    expect(calls).toBe(4);
  });

  it('bulkhead runs at most `concurrency`, queues up to `queue`, refuses the rest', async () => {
    const limit = bulkhead({ concurrency: 2, queue: 1 });
    const release = gate();
    let running = 0;
    let peak = 0;
    const work = async () => {
      running++;
      peak = Math.max(peak, running);
      await release.opened;
      running--;
      return 'ok';
    };
    const accepted = [1, 2, 3].map(() => runMiddleware([limit], call, work));
    await expect(runMiddleware([limit], call, work)).rejects.toMatchObject({ code: 'BULKHEAD_FULL' });
    release.open();
    await expect(Promise.all(accepted)).resolves.toEqual(['ok', 'ok', 'ok']);
    expect(peak).toBe(2);
    expect(() => bulkhead({ concurrency: 0 })).toThrow(/bulkhead.concurrency/);
  });

  it('wraps the Bus: publish, request, consume and handle all pass through middleware', async () => {
    const seen: string[] = [];
    const spy: Middleware = (c, next) => {
      seen.push(`${c.kind}:${c.subject}`);
      return next();
    };
    await using bus = await connect('memory://', { middleware: [spy] });
    const handled = gate();
    bus.subscribe('mw.event', () => handled.open(), { group: 'g' });
    bus.handle('mw.rpc', (n: number) => n + 1);
    await bus.publish('mw.event', 1);
    await handled.opened;
    await expect(bus.request('mw.rpc', 1)).resolves.toBe(2);
    expect(seen.sort()).toEqual(['consume:mw.event', 'handle:mw.rpc', 'publish:mw.event', 'request:mw.rpc']);
  });
});
