/**
 * Property tests: any sequence of appends (or group state changes), crashes
 * at any file operation (dropping the unsynced tail or keeping a random
 * prefix of it, for data and directory entries alike) and reopens leaves
 * storage holding every acknowledged change, in order, and nothing that was
 * never submitted.
 */
import { GroupStore, StreamLog } from '@courier/broker';
import { MemoryFileLayer } from '@courier/broker/internal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { payloadFor, prng } from './helpers/temp-dir.js';

const DIR = '/data/stream';

const phase = fc.record({
  turns: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }),
  payloadSize: fc.integer({ min: 0, max: 120 }),
  crashAt: fc.integer({ min: 1, max: 80 }),
  closeFirst: fc.boolean(),
});

describe('stream log under crashes (fast-check)', () => {
  it('keeps every acknowledged record, in order, and nothing never appended', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(phase, { minLength: 1, maxLength: 4 }),
        fc.integer(),
        async (phases, seed) => {
          const random = prng(seed);
          const submitted = new Map<string, Buffer>();
          const durable = new Map<number, string>();
          let hook: ((count: number) => void) | undefined;
          let layer = new MemoryFileLayer({ onOperation: (n) => hook?.(n) });
          for (const [p, { turns, payloadSize, crashAt, closeFirst }] of phases.entries()) {
            const acked = new Map(durable);
            let image: MemoryFileLayer | undefined;
            let ackedAtCrash: Map<number, string> | undefined;
            const nextHook = (n: number) => hook?.(n);
            const base = layer;
            hook = (n) => {
              if (!image && n >= crashAt) {
                image = base.crashImage(random, { onOperation: nextHook });
                ackedAtCrash = new Map(acked);
              }
            };
            const log = await StreamLog.open({
              dir: DIR,
              fileLayer: layer,
              maxSegmentBytes: 400,
              indexIntervalBytes: 64,
            });
            const all: Promise<unknown>[] = [];
            for (const [t, n] of turns.entries()) {
              for (let k = 0; k < n; k++) {
                const id = `p${p}t${t}k${k}`;
                const payload = payloadFor(id, payloadSize);
                submitted.set(id, payload);
                all.push(log.append({ id, payload }).then((r) => acked.set(r.sequence, id)));
              }
              await new Promise((resolve) => setImmediate(resolve));
            }
            await Promise.all(all);
            if (closeFirst) await log.close();
            if (!image) {
              image = layer.crashImage(random, { onOperation: nextHook });
              ackedAtCrash = new Map(acked);
            }
            if (!closeFirst) await log.close();
            hook = undefined;

            const reopened = await StreamLog.open({
              dir: DIR,
              fileLayer: image,
              maxSegmentBytes: 400,
              indexIntervalBytes: 64,
            });
            const info = reopened.info();
            const records = await reopened.readRange({
              from: 1,
              maxRecords: 100_000,
              maxBytes: Number.MAX_SAFE_INTEGER,
            });
            await reopened.close();
            // Contiguous from 1, each record exactly as some append submitted it, each id once.
            expect(records.map((r) => r.sequence)).toEqual(
              Array.from({ length: records.length }, (_, i) => i + 1),
            );
            expect(info.lastSequence).toBe(records.length);
            const seen = new Set<string>();
            for (const r of records) {
              expect(r.id).toBeDefined();
              expect(submitted.get(r.id!)).toEqual(r.payload);
              expect(seen.has(r.id!)).toBe(false);
              seen.add(r.id!);
            }
            // Every record acknowledged before the crash is there, at its sequence.
            for (const [sequence, id] of ackedAtCrash!) expect(records[sequence - 1]?.id).toBe(id);
            durable.clear();
            for (const r of records) durable.set(r.sequence, r.id!);
            layer = image;
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

type GroupCommand =
  | { kind: 'ack'; group: number; sequence: number }
  | { kind: 'ackThrough'; group: number; sequence: number }
  | { kind: 'delivered'; group: number; sequence: number };

const groupCommand: fc.Arbitrary<GroupCommand> = fc.oneof(
  fc.record({
    kind: fc.constant('ack' as const),
    group: fc.integer({ min: 0, max: 2 }),
    sequence: fc.integer({ min: 1, max: 60 }),
  }),
  fc.record({
    kind: fc.constant('ackThrough' as const),
    group: fc.integer({ min: 0, max: 2 }),
    sequence: fc.integer({ min: 1, max: 30 }),
  }),
  fc.record({
    kind: fc.constant('delivered' as const),
    group: fc.integer({ min: 0, max: 2 }),
    sequence: fc.integer({ min: 1, max: 60 }),
  }),
);

describe('group state under crashes and compaction (fast-check)', () => {
  it('never loses an acknowledged ack, never invents one, and keeps delivery counts within bounds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            turns: fc.array(fc.array(groupCommand, { minLength: 1, maxLength: 8 }), {
              minLength: 1,
              maxLength: 6,
            }),
            crashAt: fc.integer({ min: 1, max: 60 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.integer(),
        fc.integer({ min: 40, max: 400 }),
        async (phases, seed, compactAfterBytes) => {
          const random = prng(seed);
          const names = ['a', 'b', 'c'];
          // What was ever submitted (an upper bound) and what was acknowledged before the last crash (a lower bound).
          const everAcked = names.map(() => new Set<number>());
          const everThrough = names.map(() => 0);
          const submittedDeliveries = names.map(() => new Map<number, number>());
          const confirmedAcks = names.map(() => new Set<number>());
          let confirmedCounts = names.map(() => new Map<number, number>());
          let hook: ((n: number) => void) | undefined;
          let layer = new MemoryFileLayer({ onOperation: (n) => hook?.(n) });
          for (const { turns, crashAt } of phases) {
            let image: MemoryFileLayer | undefined;
            const ackedNow = names.map((_, g) => new Set(confirmedAcks[g]));
            const countsNow = confirmedCounts.map((m) => new Map(m));
            let ackedAtCrash: Array<Set<number>> | undefined;
            let countsAtCrash: Array<Map<number, number>> | undefined;
            const base = layer;
            const nextHook = (n: number) => hook?.(n);
            const take = () => {
              image = base.crashImage(random, { onOperation: nextHook });
              ackedAtCrash = ackedNow.map((s) => new Set(s));
              countsAtCrash = countsNow.map((m) => new Map(m));
            };
            hook = (n) => {
              if (!image && n >= crashAt) take();
            };
            const store = await GroupStore.open({ dir: '/data/groups', fileLayer: layer, compactAfterBytes });
            await Promise.all(names.map((n) => store.create(n)));
            const all: Promise<unknown>[] = [];
            for (const turn of turns) {
              for (const c of turn) {
                const name = names[c.group]!;
                if (c.kind === 'ack') {
                  everAcked[c.group]!.add(c.sequence);
                  all.push(store.ack(name, c.sequence).then(() => ackedNow[c.group]!.add(c.sequence)));
                } else if (c.kind === 'ackThrough') {
                  everThrough[c.group] = Math.max(everThrough[c.group]!, c.sequence);
                  all.push(
                    store.ackThrough(name, c.sequence).then(() => {
                      for (let s = 1; s <= c.sequence; s++) ackedNow[c.group]!.add(s);
                    }),
                  );
                } else {
                  const m = submittedDeliveries[c.group]!;
                  m.set(c.sequence, (m.get(c.sequence) ?? 0) + 1);
                  all.push(
                    store.delivered(name, c.sequence).then((count) => {
                      if (count > 0) countsNow[c.group]!.set(c.sequence, count);
                    }),
                  );
                }
              }
              await new Promise((resolve) => setImmediate(resolve));
            }
            await Promise.all(all);
            if (!image) take();
            await store.close();
            hook = undefined;

            const reopened = await GroupStore.open({
              dir: '/data/groups',
              fileLayer: image!,
              compactAfterBytes,
            });
            const nextCounts = names.map(() => new Map<number, number>());
            for (const [g, name] of names.entries()) {
              const state = reopened.get(name);
              if (!state) {
                // Created in this phase but lost with the crash: only possible when nothing for it was acknowledged.
                expect(ackedAtCrash![g]!.size).toBe(0);
                continue;
              }
              for (const s of ackedAtCrash![g]!) expect(state.isAcked(s)).toBe(true);
              for (let s = 1; s <= 70; s++) {
                if (state.isAcked(s)) {
                  expect(everAcked[g]!.has(s) || s <= everThrough[g]!).toBe(true);
                  confirmedAcks[g]!.add(s);
                  continue;
                }
                const count = state.deliveryCount(s);
                expect(count).toBeGreaterThanOrEqual(countsAtCrash![g]!.get(s) ?? 0);
                expect(count).toBeLessThanOrEqual(submittedDeliveries[g]!.get(s) ?? 0);
                if (count > 0) nextCounts[g]!.set(s, count);
              }
            }
            confirmedCounts = nextCounts;
            await reopened.close();
            layer = image!;
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
