import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GroupState } from './group-state.js';
import {
  applyOp,
  decodeOp,
  decodeSnapshot,
  encodeOp,
  encodeSnapshot,
  type GroupOp,
} from './group-state-codec.js';

const op: fc.Arbitrary<GroupOp> = fc.oneof(
  fc.record({
    op: fc.constant('ack' as const),
    group: fc.constantFrom('a', 'b'),
    sequence: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({
    op: fc.constant('ackThrough' as const),
    group: fc.constantFrom('a', 'b'),
    sequence: fc.integer({ min: 0, max: 30 }),
  }),
  fc.record({
    op: fc.constant('delivered' as const),
    group: fc.constantFrom('a', 'b'),
    sequence: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({
    op: fc.constant('create' as const),
    group: fc.constantFrom('a', 'b', 'ü-c'),
    ackFloor: fc.nat(5),
  }),
  fc.record({ op: fc.constant('delete' as const), group: fc.constantFrom('b') }),
);

describe('GroupState', () => {
  it('matches a model of acknowledged sets, floors and delivery counts (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const state = new GroupState('a');
        const acked = new Set<number>();
        const counts = new Map<number, number>();
        for (const o of ops.filter((x) => x.group === 'a')) {
          if (o.op === 'ack') {
            acked.add(o.sequence);
            state.ack(o.sequence);
          } else if (o.op === 'ackThrough') {
            for (let s = 1; s <= o.sequence; s++) acked.add(s);
            state.ackThrough(o.sequence);
          } else if (o.op === 'delivered') {
            const count = acked.has(o.sequence) ? 0 : (counts.get(o.sequence) ?? 0) + 1;
            if (count > 0) counts.set(o.sequence, count);
            expect(state.delivered(o.sequence)).toBe(count);
          }
        }
        let floor = 0;
        while (acked.has(floor + 1)) floor++;
        expect(state.ackFloor).toBe(floor);
        expect(state.ackedAboveFloor()).toEqual([...acked].filter((s) => s > floor).sort((x, y) => x - y));
        for (let s = 1; s <= 45; s++) {
          expect(state.isAcked(s)).toBe(acked.has(s));
          expect(state.deliveryCount(s)).toBe(acked.has(s) ? 0 : (counts.get(s) ?? 0));
        }
      }),
    );
  });
});

describe('group state codec', () => {
  it('round-trips ops, and a snapshot reproduces the state the ops built (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.nat(1000), (ops, nextLog) => {
        const groups = new Map<string, GroupState>();
        const encoded = Buffer.concat(ops.map(encodeOp));
        let at = 0;
        for (const o of ops) {
          const decoded = decodeOp(encoded, at);
          expect(decoded).toEqual({ op: o, size: encodeOp(o).length });
          at += encodeOp(o).length;
          applyOp(groups, o);
        }
        const restored = decodeSnapshot(encodeSnapshot(groups, nextLog));
        expect(restored.nextLog).toBe(nextLog);
        expect([...restored.groups.keys()]).toEqual([...groups.keys()]);
        for (const [name, g] of groups) {
          const r = restored.groups.get(name)!;
          expect(r.ackFloor).toBe(g.ackFloor);
          expect(r.ackedAboveFloor()).toEqual(g.ackedAboveFloor());
          expect(r.deliveries()).toEqual(g.deliveries());
        }
      }),
    );
  });

  it('reports torn and corrupt ops and refuses a damaged snapshot', () => {
    const bytes = encodeOp({ op: 'ack', group: 'g', sequence: 5 });
    expect(decodeOp(bytes.subarray(0, bytes.length - 1), 0)).toHaveProperty('problem');
    const flipped = Buffer.from(bytes);
    flipped[12] = flipped[12]! ^ 1;
    expect(decodeOp(flipped, 0)).toEqual({ problem: 'checksum mismatch' });
    const snapshot = encodeSnapshot(new Map([['g', new GroupState('g', 3)]]), 2);
    snapshot[10] = snapshot[10]! ^ 1;
    expect(() => decodeSnapshot(snapshot)).toThrow(/checksum/);
  });
});
