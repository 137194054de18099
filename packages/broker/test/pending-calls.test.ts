/**
 * The courier:// client's waiting calls share one timeout timer: each call
 * still fails at its own deadline, answered calls never time out, and a
 * short timeout is not held up by a longer one armed before it.
 */
import { CourierError } from '@courier/core';
import { describe, expect, it } from 'vitest';
import { PendingCalls } from '../src/client/pending-calls.js';

const timedOut = (what: string) => () => new CourierError('TIMEOUT', `${what} timed out`);

describe('PendingCalls', () => {
  it('fails each call at its own timeout, answers the others, and drops late replies', async () => {
    const calls = new PendingCalls<string>();
    const long = calls.wait(1, () => true, { timeout: 60_000, onTimeout: timedOut('long'), what: 'long' });
    const short = calls.wait(2, () => true, { timeout: 30, onTimeout: timedOut('short'), what: 'short' });
    const answered = calls.wait(3, () => true, { timeout: 30, what: 'answered' });
    expect(calls.resolve(3, 'yes')).toBe(true);
    await expect(answered).resolves.toBe('yes');
    const started = performance.now();
    await expect(short).rejects.toMatchObject({ code: 'TIMEOUT', message: 'short timed out' });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(calls.resolve(2, 'late')).toBe(false);
    expect(calls.resolve(1, 'in time')).toBe(true);
    await expect(long).resolves.toBe('in time');
  });

  it('times out many calls of different timeouts, each once, in deadline order', async () => {
    const calls = new PendingCalls<number>();
    const order: number[] = [];
    const waits = [50, 10, 30, 20, 40].map((ms, i) =>
      calls
        .wait(i, () => true, { timeout: ms, what: `call ${i}` })
        .catch((error: unknown) => {
          expect(error).toBeInstanceOf(CourierError);
          order.push(ms);
        }),
    );
    await Promise.all(waits);
    expect(order).toEqual([10, 20, 30, 40, 50]);
  });

  it('fails at once with CONNECTION_CLOSED when there is no link, and all on rejectAll', async () => {
    const calls = new PendingCalls<number>();
    await expect(calls.wait(1, () => false, { timeout: 1000, what: 'the call' })).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
    });
    const waiting = calls.wait(2, () => true, { what: 'the op' });
    calls.rejectAll(new CourierError('CONNECTION_CLOSED', 'link dropped'));
    await expect(waiting).rejects.toMatchObject({ message: 'link dropped' });
  });
});
