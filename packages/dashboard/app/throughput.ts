/**
 * Rates from counters: the broker reports totals (published per stream,
 * delivered and acked per group); successive samples give per-second rates
 * for the chart and the tables. A counter that goes down (a broker restart)
 * starts over instead of producing a negative rate.
 */
import type { GroupInfo, StreamInfo } from './api-types.js';

/** One point of the throughput chart. */
export interface RatePoint {
  /** Epoch ms of the later sample. */
  time: number;
  published: number;
  delivered: number;
}

/** Per-second rates of one group between the last two samples. */
export interface GroupRates {
  delivered: number;
  acked: number;
}

interface Sample {
  time: number;
  published: Map<string, number>;
  delivered: Map<string, number>;
  acked: Map<string, number>;
}

const groupId = (g: GroupInfo): string => JSON.stringify([g.group, g.subject, g.stream]);

function perSecond(
  now: Map<string, number>,
  before: Map<string, number>,
  seconds: number,
): Map<string, number> {
  const rates = new Map<string, number>();
  for (const [key, value] of now) {
    const previous = before.get(key);
    rates.set(key, previous === undefined || value < previous ? 0 : (value - previous) / seconds);
  }
  return rates;
}

const sum = (values: Map<string, number>): number => [...values.values()].reduce((a, b) => a + b, 0);

/** Keeps the last samples and the rates between them. */
export class Throughput {
  readonly #capacity: number;
  readonly #points: RatePoint[] = [];
  #last: Sample | undefined;
  #streamRates = new Map<string, number>();
  #deliveredRates = new Map<string, number>();
  #ackedRates = new Map<string, number>();

  readonly #minInterval: number;

  /**
   * @param capacity how many points the chart keeps (at 2 s a tick, 90 is three minutes).
   * @param minInterval samples closer than this (ms) to the last one are ignored: rates over a
   *   few milliseconds, from a refresh after a click, would be noise.
   */
  constructor(capacity = 90, minInterval = 1000) {
    this.#capacity = capacity;
    this.#minInterval = minInterval;
  }

  /** Adds a sample taken at `time`. */
  add(streams: readonly StreamInfo[], groups: readonly GroupInfo[], time = Date.now()): void {
    if (this.#last !== undefined && time - this.#last.time < this.#minInterval) return;
    const sample: Sample = {
      time,
      published: new Map(streams.map((s) => [s.name, s.published])),
      delivered: new Map(groups.map((g) => [groupId(g), g.delivered])),
      acked: new Map(groups.map((g) => [groupId(g), g.acked])),
    };
    const last = this.#last;
    this.#last = sample;
    if (last === undefined) return;
    const seconds = (time - last.time) / 1000;
    this.#streamRates = perSecond(sample.published, last.published, seconds);
    this.#deliveredRates = perSecond(sample.delivered, last.delivered, seconds);
    this.#ackedRates = perSecond(sample.acked, last.acked, seconds);
    this.#points.push({ time, published: sum(this.#streamRates), delivered: sum(this.#deliveredRates) });
    if (this.#points.length > this.#capacity) this.#points.shift();
  }

  /** The chart's points, oldest first. */
  get points(): readonly RatePoint[] {
    return this.#points;
  }

  /** Messages published per second into a stream, or undefined before two samples. */
  streamRate(name: string): number | undefined {
    return this.#streamRates.get(name);
  }

  /** A group's delivery and ack rates, or undefined before two samples. */
  groupRates(group: GroupInfo): GroupRates | undefined {
    const delivered = this.#deliveredRates.get(groupId(group));
    const acked = this.#ackedRates.get(groupId(group));
    return delivered === undefined || acked === undefined ? undefined : { delivered, acked };
  }
}
