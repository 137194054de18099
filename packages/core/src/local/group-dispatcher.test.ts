/**
 * The dispatcher's ack deadlines share one timer: a delivery not settled in
 * its member's ack wait goes back to the group, a touch postpones that, and
 * members with different ack waits each get their own.
 */
import { eventually } from '@courier/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { RawMessage } from '../message.js';
import type { Delivery } from '../transport.js';
import { GroupDispatcher } from './group-dispatcher.js';
import type { GroupMember } from './local-engine.js';

function message(n: number): RawMessage {
  return {
    id: `m-${n}`,
    subject: 'a.b',
    payload: new Uint8Array([n]),
    contentType: 'application/octet-stream',
    headers: {},
    time: Date.now(),
    source: 'test',
  };
}

interface TestMember extends GroupMember {
  readonly got: Delivery[];
}

function member(ackWait: number, maxInFlight = 10): TestMember {
  const got: Delivery[] = [];
  return {
    got,
    maxInFlight,
    ackWait,
    nackDelay: true,
    inFlight: 0,
    stopped: false,
    deliver: (delivery) => got.push(delivery),
  };
}

/** Waits until `condition` holds (the dispatcher's timers have no event to wait on). */
function until(condition: () => boolean, ms = 5000): Promise<true> {
  return eventually(async () => (condition() ? true : undefined), 'the dispatcher to act', ms);
}

const dispatchers: GroupDispatcher[] = [];
function dispatcher(): GroupDispatcher {
  const d = new GroupDispatcher(
    { name: 'g', pattern: 'a.b', schedule: false, orderKeys: false },
    { deadLettered: () => undefined },
  );
  dispatchers.push(d);
  return d;
}
afterEach(() => {
  for (const d of dispatchers.splice(0)) d.dispose();
});

describe('GroupDispatcher ack deadlines', () => {
  it('hands an unsettled delivery out again after the ack wait, with the next attempt; settled ones never', async () => {
    const group = dispatcher();
    const m = member(40);
    group.members.add(m);
    for (let n = 1; n <= 3; n++) group.add(n, message(n));
    group.dispatch();
    await until(() => m.got.length === 3);
    await m.got[0]?.ack();
    await m.got[2]?.ack();
    await until(() => m.got.length === 4);
    expect(m.got[3]?.message.id).toBe('m-2');
    expect(m.got[3]?.attempt).toBe(2);
    await m.got[3]?.ack();
    expect(group.outstanding).toBe(0);
  });

  it('a touched delivery is not handed out again while it keeps being touched', async () => {
    const group = dispatcher();
    const m = member(60);
    group.members.add(m);
    group.add(1, message(1));
    group.dispatch();
    await until(() => m.got.length === 1);
    const held = m.got[0] as Delivery;
    const started = Date.now();
    while (Date.now() - started < 300) {
      held.touch();
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    expect(m.got).toHaveLength(1);
    await held.ack();
    expect(group.outstanding).toBe(0);
  });

  it('a member with a short ack wait gets its deadline even when a longer one was armed first', async () => {
    const group = dispatcher();
    const slow = member(60_000, 1);
    group.members.add(slow);
    group.add(1, message(1));
    group.dispatch();
    await until(() => slow.got.length === 1);
    const quick = member(30, 1);
    group.members.add(quick);
    group.add(2, message(2));
    group.dispatch();
    await until(() => quick.got.length === 1);
    // Not settled: it comes back to the quick member within its own ack wait, long before the slow one's.
    await until(() => quick.got.length === 2, 2000);
    expect(quick.got[1]?.message.id).toBe('m-2');
    expect(quick.got[1]?.attempt).toBe(2);
    expect(slow.got).toHaveLength(1);
  });

  it('a settle of an expired delivery is ignored; its redelivery settles it', async () => {
    const group = dispatcher();
    const m = member(30, 1);
    group.members.add(m);
    group.add(1, message(1));
    group.dispatch();
    await until(() => m.got.length === 2);
    await m.got[0]?.ack(); // stale token
    expect(group.outstanding).toBe(1);
    await m.got[1]?.ack();
    expect(group.outstanding).toBe(0);
  });
});
