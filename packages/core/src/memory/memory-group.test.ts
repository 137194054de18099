/**
 * Model-based property test of the memory engine's group state machine:
 * random publishes, settlements and members coming and going, checked
 * against the promises of DESIGN.md §2 after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attachment, GroupMember } from '../local/local-engine.js';
import type { RawMessage } from '../message.js';
import type { Delivery } from '../transport.js';
import { MemoryEngine } from './memory-engine.js';

type Command =
  | { op: 'publish'; key: string | undefined }
  | { op: 'settle'; member: number; pick: number; action: 'ack' | 'nack' | 'dead' }
  | { op: 'leave'; member: number }
  | { op: 'join'; credit: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('publish' as const), key: fc.constantFrom('a', 'b', undefined) }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('settle' as const),
      member: fc.nat(3),
      pick: fc.nat(5),
      action: fc.constantFrom('ack' as const, 'ack' as const, 'nack' as const, 'dead' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('leave' as const), member: fc.nat(3) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('join' as const), credit: fc.integer({ min: 1, max: 3 }) }),
  },
);

interface Member extends GroupMember {
  held: Delivery[];
  gone: boolean;
  attachment?: Attachment;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function message(n: number, key: string | undefined): RawMessage {
  const m: RawMessage = {
    id: `m${n}`,
    subject: 'model.x',
    payload: new Uint8Array([n]),
    contentType: 'application/octet-stream',
    headers: {},
    time: n,
    source: 't',
  };
  if (key !== undefined) m.key = key;
  return m;
}

describe('memory group state machine', () => {
  it('never loses, never redelivers an acked message, one per key at a time, keys in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 60 }), async (commands) => {
        const engine = new MemoryEngine();
        const members: Member[] = [];
        const keyOf = new Map<string, string | undefined>();
        const published: string[] = [];
        const done = new Map<string, 'ack' | 'dead'>();
        const finishedByKey = new Map<string, string[]>();
        const join = async (credit: number): Promise<void> => {
          const member: Member = {
            maxInFlight: credit,
            ackWait: 3_600_000,
            nackDelay: true,
            inFlight: 0,
            stopped: false,
            held: [],
            gone: false,
            deliver(delivery) {
              if (member.gone) return;
              const id = delivery.message.id;
              expect(done.has(id), `${id} delivered again after it was ${done.get(id)}`).toBe(false);
              member.held.push(delivery);
            },
          };
          members.push(member);
          member.attachment = await engine.attach(
            {
              subject: 'model.>',
              group: 'g',
              durable: true,
              deliver: 'all',
              maxInFlight: credit,
              ackWait: 3_600_000,
              schedule: true,
              orderKeys: true,
            },
            member,
          );
        };
        const live = (): Member[] => members.filter((m) => !m.gone);
        const check = (): void => {
          const outstanding = live().flatMap((m) => m.held.map((d) => d.message));
          for (const key of ['a', 'b']) {
            const out = outstanding.filter((m) => m.key === key).map((m) => m.id);
            expect(out.length, `key ${key} out at once: ${out}`).toBeLessThanOrEqual(1);
          }
        };
        const settle = async (
          member: Member,
          index: number,
          action: 'ack' | 'nack' | 'dead',
        ): Promise<void> => {
          const [delivery] = member.held.splice(index, 1);
          if (!delivery) return;
          const id = delivery.message.id;
          if (action === 'nack') return delivery.nack(0);
          done.set(id, action);
          const key = keyOf.get(id);
          if (key !== undefined) finishedByKey.set(key, [...(finishedByKey.get(key) ?? []), id]);
          return action === 'ack'
            ? delivery.ack()
            : delivery.deadLetter({ code: 'X', message: 'x', retryable: false });
        };
        await join(2);
        await join(1);
        for (const c of commands) {
          if (c.op === 'publish') {
            const id = `m${published.length}`;
            published.push(id);
            keyOf.set(id, c.key);
            await engine.publish(message(published.length - 1, c.key), { dedup: true });
          } else if (c.op === 'settle') {
            const member = live()[c.member % Math.max(live().length, 1)];
            if (member && member.held.length > 0) await settle(member, c.pick % member.held.length, c.action);
          } else if (c.op === 'leave') {
            const member = live()[c.member % Math.max(live().length, 1)];
            if (member && live().length > 1) {
              member.gone = true;
              member.held = [];
              member.attachment?.detach();
            }
          } else {
            await join(c.credit);
          }
          await tick();
          check();
        }
        // Drain: ack everything until nothing is left; every message ends acked or dead-lettered once.
        for (let round = 0; round < published.length * 3 + 5 && done.size < published.length; round++) {
          for (const member of live()) while (member.held.length > 0) await settle(member, 0, 'ack');
          await tick();
          check();
        }
        expect([...done.keys()].sort()).toEqual([...published].sort());
        for (const [key, ids] of finishedByKey) {
          const order = published.filter((id) => keyOf.get(id) === key);
          expect(ids, `key ${key} finished out of publish order`).toEqual(order);
        }
        engine.close();
      }),
      { numRuns: 150 },
    );
  });
});
