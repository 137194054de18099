/**
 * The broker's Prometheus metrics (`GET /metrics`), on a prom-client
 * `Registry` of its own (never the global default registry): message
 * counters fed by the engine as an {@link EngineObserver}, gauges read from
 * the engine at scrape time, latency histograms, and the process metrics.
 *
 * Counters are plain numbers on the hot path (a map lookup and two
 * additions per publish) and are copied into prom-client only when scraped.
 * Subjects become label values, so their number is capped
 * (`subjectLimit`, default 1000): subjects seen after that are counted under
 * `subject="_other"`. Group names are label values too: every private
 * subscription's group (`_private.<service>.<id>`, one per subscription) is
 * counted under `group="_private"`, and durable group names are capped
 * (`groupLimit`, default 1000) with the rest under `group="_other"`, so the
 * series stay bounded however many subscriptions come and go.
 */
import { statfs } from 'node:fs/promises';
import { subjectMatcher } from '@courier/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BrokerEngine } from '../engine/broker-engine.js';
import type { EngineObserver, GroupView } from '../engine/engine-observer.js';
import {
  type GroupTotals,
  isPrivateGroup,
  LabelCap,
  PRIVATE_GROUP_LABEL,
  Table,
  zeroTotals,
} from './metric-labels.js';

export type { GroupTotals } from './metric-labels.js';
export { OTHER_SUBJECT, PRIVATE_GROUP_LABEL } from './metric-labels.js';

/** Options of {@link BrokerMetrics}. */
export interface BrokerMetricsOptions {
  /** Distinct subject label values before new subjects count as `_other`. Default 1000. */
  subjectLimit?: number;
  /** Distinct group label values before new groups count as `_other`. Default 1000. */
  groupLimit?: number;
  /** Also export Node's process metrics (CPU, memory, event loop). Default true. */
  processMetrics?: boolean;
}

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

type Count = keyof GroupTotals;

interface Published {
  messages: number;
  bytes: number;
}

/** See the module comment. Pass it to the engine as `observer`, and to `startHttpAdmin` as `metrics`. */
export class BrokerMetrics implements EngineObserver {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  readonly #subjects: LabelCap;
  readonly #groupLabels: LabelCap;
  /** Private groups open now, with their own counts (for the admin API), dropped once closed. */
  readonly #privateGroups = new Map<string, { views: number; totals: GroupTotals }>();
  readonly #published = new Table<Published>(() => ({ messages: 0, bytes: 0 }));
  readonly #groupCounts = new Table<GroupTotals>(zeroTotals);
  readonly #groups = new Set<GroupView>();
  readonly #ackLatency: Histogram<'group'>;
  readonly #publishToAck: Histogram<'group'>;
  #engine: BrokerEngine | undefined;

  constructor(options: BrokerMetricsOptions = {}) {
    this.#subjects = new LabelCap(options.subjectLimit ?? 1000);
    this.#groupLabels = new LabelCap(options.groupLimit ?? 1000);
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const published = this.#published;
    const counts = this.#groupCounts;
    const fromTable = <T>(
      table: Table<T>,
      name: string,
      help: string,
      outer: 'stream' | 'group',
      value: (row: T) => number,
    ): void => {
      new Counter({
        name,
        help,
        labelNames: [outer, 'subject'],
        registers,
        collect() {
          this.reset();
          for (const [key, inner] of table.rows)
            for (const [subject, row] of inner) this.inc({ [outer]: key, subject }, value(row));
        },
      });
    };
    fromTable(
      published,
      'courier_published_messages_total',
      'Messages stored, by stream and subject.',
      'stream',
      (r) => r.messages,
    );
    fromTable(
      published,
      'courier_published_bytes_total',
      'Payload bytes stored, by stream and subject.',
      'stream',
      (r) => r.bytes,
    );
    fromTable(
      counts,
      'courier_delivered_messages_total',
      'Deliveries to group members (first and later attempts).',
      'group',
      (r) => r.delivered,
    );
    fromTable(
      counts,
      'courier_redelivered_messages_total',
      'Deliveries after the first (retries, expired ack deadlines).',
      'group',
      (r) => r.redelivered,
    );
    fromTable(
      counts,
      'courier_acked_messages_total',
      'Messages acked by a group member.',
      'group',
      (r) => r.acked,
    );
    fromTable(
      counts,
      'courier_dead_letters_total',
      'Messages a group moved to its dead-letter queue.',
      'group',
      (r) => r.deadLetters,
    );
    this.#ackLatency = new Histogram({
      name: 'courier_ack_latency_seconds',
      help: 'From a delivery to its ack, by group.',
      labelNames: ['group'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#publishToAck = new Histogram({
      name: 'courier_publish_to_ack_seconds',
      help: "From a message's publish time to its ack (handled), by group.",
      labelNames: ['group'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#scrapeGauges(registers);
  }

  /** Reads streams, groups, connections and the disk from `engine` at scrape time. */
  bindEngine(engine: BrokerEngine): void {
    this.#engine = engine;
  }

  /** The label value for `subject`: itself while under the cap, else `_other`. */
  subjectLabel(subject: string): string {
    return this.#subjects.label(subject);
  }

  /** The label value for `group`: `_private` for a private subscription's, itself while under the cap, else `_other`. */
  groupLabel(group: string): string {
    return isPrivateGroup(group) ? PRIVATE_GROUP_LABEL : this.#groupLabels.label(group);
  }

  published(subject: string, bytes: number, stream: string): void {
    const inner = this.#published.rows.get(stream);
    const row = inner?.get(subject) ?? this.#published.get(stream, this.subjectLabel(subject));
    row.messages++;
    row.bytes += bytes;
  }

  delivered(group: string, subject: string): void {
    this.#count(group, subject, 'delivered');
  }

  redelivered(group: string, subject: string): void {
    this.#count(group, subject, 'redelivered');
  }

  acked(group: string, subject: string, ackLatencyMs: number, publishToAckMs: number): void {
    this.#count(group, subject, 'acked');
    const labels = { group: this.groupLabel(group) };
    this.#ackLatency.observe(labels, ackLatencyMs / 1000);
    this.#publishToAck.observe(labels, Math.max(0, publishToAckMs) / 1000);
  }

  deadLettered(group: string, subject: string): void {
    this.#count(group, subject, 'deadLetters');
  }

  groupOpened(view: GroupView): void {
    this.#groups.add(view);
    if (!isPrivateGroup(view.group)) return;
    const open = this.#privateGroups.get(view.group);
    if (open) open.views++;
    else this.#privateGroups.set(view.group, { views: 1, totals: zeroTotals() });
  }

  groupClosed(view: GroupView): void {
    if (!this.#groups.delete(view)) return;
    const open = this.#privateGroups.get(view.group);
    if (open && --open.views === 0) this.#privateGroups.delete(view.group);
  }

  /** Groups open in this process. */
  groups(): GroupView[] {
    return [...this.#groups];
  }

  /** The live view of a group, if it is open here. */
  group(group: string, pattern: string, stream = 'default'): GroupView | undefined {
    for (const view of this.#groups)
      if (view.group === group && view.pattern === pattern && view.stream === stream) return view;
    return undefined;
  }

  /**
   * A group's counts since start (every pattern the name was used with), or a label's (`_private`,
   * `_other`). A private group's own counts last while it is open; a group past the cap has none.
   */
  groupTotals(group: string): GroupTotals {
    if (isPrivateGroup(group)) return { ...(this.#privateGroups.get(group)?.totals ?? zeroTotals()) };
    const totals = zeroTotals();
    for (const row of this.#groupCounts.rows.get(group)?.values() ?? []) {
      totals.delivered += row.delivered;
      totals.acked += row.acked;
      totals.redelivered += row.redelivered;
      totals.deadLetters += row.deadLetters;
    }
    return totals;
  }

  /** Group labels (names, `_private`, `_other`) that dead-lettered a message since start. */
  deadLetterGroups(): string[] {
    return [...this.#groupCounts.rows.keys()].filter((group) => this.groupTotals(group).deadLetters > 0);
  }

  /** Messages and payload bytes stored in `stream` since start. */
  streamTotals(stream: string): { published: number; publishedBytes: number } {
    let published = 0;
    let publishedBytes = 0;
    for (const row of this.#published.rows.get(stream)?.values() ?? []) {
      published += row.messages;
      publishedBytes += row.bytes;
    }
    return { published, publishedBytes };
  }

  /** Subjects published since start (up to the cap). */
  subjects(): string[] {
    return [...this.#subjects.values()].sort();
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  #count(group: string, subject: string, what: Count): void {
    const label = this.groupLabel(group);
    const row =
      this.#groupCounts.rows.get(label)?.get(subject) ??
      this.#groupCounts.get(label, this.subjectLabel(subject));
    row[what]++;
    if (label === PRIVATE_GROUP_LABEL) {
      const open = this.#privateGroups.get(group);
      if (open) open.totals[what]++;
    }
  }

  /** Sums `value` of the open groups' views by their labels: one series per label, pattern and stream. */
  #byLabel(
    value: (view: GroupView) => number,
  ): Map<string, { labels: Record<string, string>; value: number }> {
    const sums = new Map<string, { labels: Record<string, string>; value: number }>();
    for (const view of this.#groups) {
      const labels = { group: this.groupLabel(view.group), pattern: view.pattern, stream: view.stream };
      const key = JSON.stringify(labels);
      const sum = sums.get(key);
      if (sum) sum.value += value(view);
      else sums.set(key, { labels, value: value(view) });
    }
    return sums;
  }

  #scrapeGauges(registers: Registry[]): void {
    const metrics = this;
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (
        set: (labels: Partial<Record<L, string>>, value: number) => void,
        engine: BrokerEngine,
      ) => Promise<void> | void,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          this.reset();
          const engine = metrics.#engine;
          if (engine) await fill((labels, value) => this.set(labels, value), engine);
        },
      });
    };
    gauge(
      'courier_group_pending',
      'Messages a group has not delivered yet (its lag).',
      ['group', 'pattern', 'stream'],
      (set) => {
        for (const { labels, value } of this.#byLabel((v) => v.pending()).values()) set(labels, value);
      },
    );
    gauge(
      'courier_group_outstanding',
      'Messages delivered to a group and not yet acked.',
      ['group', 'pattern', 'stream'],
      (set) => {
        for (const { labels, value } of this.#byLabel((v) => v.outstanding()).values()) set(labels, value);
      },
    );
    gauge(
      'courier_group_members',
      'Members attached to a group now.',
      ['group', 'pattern'],
      async (set, engine) => {
        // A group whose pattern spans streams is listed once per stream: count its members once.
        const unique = new Map(
          (await engine.stats()).groups.map((g) => [JSON.stringify([g.group, g.subject]), g]),
        );
        const sums = new Map<string, { group: string; pattern: string; members: number }>();
        for (const g of unique.values()) {
          const group = this.groupLabel(g.group);
          const key = JSON.stringify([group, g.subject]);
          const sum = sums.get(key) ?? { group, pattern: g.subject, members: 0 };
          sum.members += g.members;
          sums.set(key, sum);
        }
        for (const s of sums.values()) set({ group: s.group, pattern: s.pattern }, s.members);
      },
    );
    gauge('courier_stream_messages', 'Messages held by a stream.', ['stream'], async (set, engine) => {
      for (const stream of (await engine.stats()).streams) set({ stream: stream.name }, stream.messages);
    });
    gauge('courier_stream_bytes', "Bytes of a stream's segment files.", ['stream'], async (set, engine) => {
      for (const stream of (await engine.stats()).streams) set({ stream: stream.name }, stream.bytes);
    });
    gauge('courier_connections', 'Client connections served now.', [], (set, engine) => {
      set({}, engine.services.list().length);
    });
    gauge('courier_service_instances', 'Live instances of each service.', ['service'], (set, engine) => {
      const counts = new Map<string, number>();
      for (const i of engine.services.list()) counts.set(i.service, (counts.get(i.service) ?? 0) + 1);
      for (const [service, n] of counts) set({ service }, n);
    });
    gauge(
      'courier_subject_subscribers',
      'For each subject published since start: members of the groups whose pattern matches it.',
      ['subject'],
      async (set, engine) => {
        // A group whose pattern spans streams is listed once per stream: count its members once.
        const unique = new Map(
          (await engine.stats()).groups.map((g) => [JSON.stringify([g.group, g.subject]), g]),
        );
        const groups = [...unique.values()].map((g) => ({
          matches: subjectMatcher(g.subject),
          members: g.members,
        }));
        for (const subject of this.#subjects.values()) {
          let members = 0;
          for (const g of groups) if (g.matches(subject)) members += g.members;
          set({ subject }, members);
        }
      },
    );
    gauge(
      'courier_disk_size_bytes',
      "Size of the file system holding the broker's data.",
      [],
      async (set, engine) => {
        const fs = await statfs(engine.dir);
        set({}, fs.blocks * fs.bsize);
      },
    );
    gauge('courier_disk_available_bytes', "Space left for the broker's data.", [], async (set, engine) => {
      const fs = await statfs(engine.dir);
      set({}, fs.bavail * fs.bsize);
    });
  }
}
