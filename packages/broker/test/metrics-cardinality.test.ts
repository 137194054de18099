/**
 * The broker's metric series stay bounded however many subscriptions come
 * and go: every private subscription has a group of its own
 * (`_private.<service>.<id>`), which used to leave its series behind after
 * it closed. Private groups are counted under `group="_private"`, and
 * durable group names past `groupLimit` under `group="_other"`.
 */
import { connect } from '@courier/core';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { BrokerEngine, BrokerMetrics, embeddedTransport } from '../src/index.js';
import { tempDir } from './helpers/temp-dir.js';

/** The series (non-comment lines) of the exposition. */
function series(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

/** The value of counter `name` with `labels`. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  const found = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return found && 'value' in found ? Number(found.value) : undefined;
}

describe('metric cardinality', () => {
  it('100 private subscriptions opened, fed and closed leave a bounded number of series, under group="_private"', async () => {
    const temp = await tempDir('courier-cardinality-');
    const metrics = new BrokerMetrics({ processMetrics: false });
    const engine = await BrokerEngine.open({ dir: temp.dir, observer: metrics, sync: 'none' });
    metrics.bindEngine(engine);
    const bus = await connect(embeddedTransport(engine), { service: 'card' });
    try {
      const cycle = async (i: number): Promise<void> => {
        let handled!: () => void;
        const done = new Promise<void>((resolve) => {
          handled = resolve;
        });
        const sub = bus.subscribe('card.events', () => handled());
        await sub.ready;
        await bus.publish('card.events', { i });
        await done;
        await sub.close();
      };
      for (let i = 0; i < 10; i++) await cycle(i);
      const after10 = series(await metrics.render());
      for (let i = 10; i < 100; i++) await cycle(i);
      const text = await metrics.render();
      const after100 = series(text);
      expect(after100.filter((line) => line.includes('_private.'))).toEqual([]);
      expect(after100.length).toBe(after10.length);
      // Every handled message is still counted, under the one private label.
      expect(value(text, 'courier_acked_messages_total', { group: '_private', subject: 'card.events' })).toBe(
        100,
      );
      expect(metrics.groups()).toEqual([]);
    } finally {
      await bus.close();
      await engine.close();
      await temp.remove();
    }
  });

  it('caps distinct group labels: groups past groupLimit count as _other', async () => {
    const temp = await tempDir('courier-cardinality-');
    const metrics = new BrokerMetrics({ processMetrics: false, groupLimit: 2 });
    const engine = await BrokerEngine.open({ dir: temp.dir, observer: metrics, sync: 'none' });
    metrics.bindEngine(engine);
    const bus = await connect(embeddedTransport(engine), { service: 'card' });
    try {
      const groups = ['g0', 'g1', 'g2', 'g3'];
      let handled = 0;
      let all!: () => void;
      const done = new Promise<void>((resolve) => {
        all = resolve;
      });
      for (const group of groups)
        await bus.subscribe(
          'cap.events',
          () => {
            if (++handled === groups.length) all();
          },
          { group },
        ).ready;
      await bus.publish('cap.events', 'x');
      await done;
      const text = await metrics.render();
      const labels = new Set(
        parsePrometheusTextFormat(text)
          .find((f) => f.name === 'courier_delivered_messages_total')
          ?.metrics.map((m) => m.labels?.['group']),
      );
      expect(labels).toEqual(new Set(['g0', 'g1', '_other']));
      expect(value(text, 'courier_delivered_messages_total', { group: '_other' })).toBe(2);
    } finally {
      await bus.close();
      await engine.close();
      await temp.remove();
    }
  });
});
