/**
 * The broker's alerts: the rules of its config (`alert-rules.ts`) evaluated
 * on a timer against the engine and its metrics. Each thing a rule watches
 * is an alert that is `ok` or `firing`; it fires once its condition has held
 * for the rule's `for`, and resolves when the condition stops (or the thing
 * is gone). Changes are shown at `/api/alerts` and POSTed to the webhook.
 */
import { statfs } from 'node:fs/promises';
import type { BrokerEngine } from '../engine/broker-engine.js';
import {
  type AlertInputs,
  type AlertKind,
  type AlertSample,
  type AlertsConfig,
  type CheckedRule,
  checkAlertsConfig,
  type DeadLetterHistory,
  evaluateRule,
} from './alert-rules.js';
import { type AlertWebhook, alertWebhook, type WebhookAlert } from './alert-webhook.js';
import type { BrokerMetrics } from './broker-metrics.js';

/** One alert as `/api/alerts` shows it. */
export interface AlertStatus {
  rule: string;
  kind: AlertKind;
  state: 'firing' | 'ok';
  /** Since when it has been in this state (ms since the epoch). */
  since: number;
  value: number;
  message: string;
  labels: Record<string, string>;
}

/** Options of {@link BrokerAlerts.start}. */
export interface BrokerAlertsOptions {
  engine: BrokerEngine;
  /** The engine's observer: lag and dead-letter counts come from it. */
  metrics: BrokerMetrics;
  /** The `alerts` section of the config; checked here (`INVALID_OPTION` when wrong). */
  config: AlertsConfig;
  /** Told of evaluation and webhook failures. Default: logged to stderr. */
  onError?: (error: unknown) => void;
}

interface Tracked {
  rule: CheckedRule;
  sample: AlertSample;
  /** When the condition started holding, while it holds. */
  activeSince: number | undefined;
  firing: boolean;
  since: number;
  /** When it last started firing. */
  firedAt: number;
}

const NEVER = '0001-01-01T00:00:00Z';

/** See the module comment. Start with {@link BrokerAlerts.start}; close to stop the timer. */
export class BrokerAlerts {
  readonly #engine: BrokerEngine;
  readonly #metrics: BrokerMetrics;
  readonly #rules: CheckedRule[];
  readonly #webhook: AlertWebhook | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #tracked = new Map<string, Tracked>();
  readonly #history: DeadLetterHistory = new Map();
  readonly #servicesSeen = new Set<string>();
  readonly #startedAt = Date.now();
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #closed = false;

  private constructor(options: BrokerAlertsOptions) {
    const config = checkAlertsConfig(options.config);
    this.#engine = options.engine;
    this.#metrics = options.metrics;
    this.#rules = config.rules;
    this.#onError = options.onError ?? ((error) => console.error('[courier alerts]', error));
    this.#webhook = config.webhook
      ? alertWebhook({ url: config.webhook, onError: this.#onError })
      : undefined;
    this.#timer = setInterval(() => void this.evaluate(), config.intervalMs);
    this.#timer.unref();
  }

  /** Checks the config and starts evaluating (the first evaluation runs at once). */
  static start(options: BrokerAlertsOptions): BrokerAlerts {
    const alerts = new BrokerAlerts(options);
    void alerts.evaluate();
    return alerts;
  }

  /** Every alert, firing first; a rule that watches nothing yet shows one `ok` line. */
  list(): AlertStatus[] {
    const out: AlertStatus[] = [];
    for (const rule of this.#rules) {
      const mine = [...this.#tracked.values()].filter((t) => t.rule === rule);
      for (const t of mine)
        out.push({
          rule: rule.name,
          kind: rule.kind,
          state: t.firing ? 'firing' : 'ok',
          since: t.since,
          value: t.sample.value,
          message: t.sample.message,
          labels: t.sample.labels,
        });
      if (mine.length === 0)
        out.push({
          rule: rule.name,
          kind: rule.kind,
          state: 'ok',
          since: this.#startedAt,
          value: 0,
          message: `nothing to watch yet for ${rule.kind}${rule.group ? ` (group ${rule.group})` : ''}`,
          labels: {},
        });
    }
    return out.sort((a, b) => Number(b.state === 'firing') - Number(a.state === 'firing'));
  }

  /** Alerts firing now. */
  get firing(): number {
    let n = 0;
    for (const t of this.#tracked.values()) if (t.firing) n++;
    return n;
  }

  /** Evaluates every rule now (a running evaluation is awaited instead of started twice). */
  evaluate(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#running ??= this.#evaluate()
      .catch((error: unknown) => this.#onError(error))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** Stops the timer and waits for the webhook posts already queued. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
    await this.#webhook?.idle();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #inputs(): Promise<AlertInputs> {
    const now = Date.now();
    // One entry per group and pattern, its lag summed over the streams the pattern spans.
    const byKey = new Map<string, AlertInputs['groups'][number]>();
    for (const g of (await this.#engine.stats()).groups)
      byKey.set(JSON.stringify([g.group, g.subject]), {
        group: g.group,
        pattern: g.subject,
        pending: 0,
        members: g.members,
      });
    for (const view of this.#metrics.groups()) {
      const entry = byKey.get(JSON.stringify([view.group, view.pattern]));
      if (entry) entry.pending += view.pending();
    }
    const groups = [...byKey.values()];
    const deadLetters = new Map<string, number>();
    for (const group of this.#metrics.deadLetterGroups())
      deadLetters.set(group, this.#metrics.groupTotals(group).deadLetters);
    const services = this.#engine.services.list();
    for (const i of services) this.#servicesSeen.add(i.service);
    let disk: AlertInputs['disk'];
    if (this.#rules.some((r) => r.kind === 'disk-nearly-full')) {
      const fs = await statfs(this.#engine.dir);
      disk = { size: fs.blocks * fs.bsize, available: fs.bavail * fs.bsize };
    }
    return { now, groups, deadLetters, services, servicesSeen: this.#servicesSeen, disk };
  }

  async #evaluate(): Promise<void> {
    const inputs = await this.#inputs();
    const { now } = inputs;
    const fired: Tracked[] = [];
    const resolved: Tracked[] = [];
    const seen = new Set<string>();
    for (const rule of this.#rules) {
      for (const sample of evaluateRule(rule, inputs, this.#history)) {
        const key = JSON.stringify([rule.name, sample.labels]);
        seen.add(key);
        let t = this.#tracked.get(key);
        if (!t) {
          t = { rule, sample, activeSince: undefined, firing: false, since: now, firedAt: 0 };
          this.#tracked.set(key, t);
        }
        t.sample = sample;
        if (sample.active) {
          t.activeSince ??= now;
          if (!t.firing && now - t.activeSince >= rule.forMs) {
            t.firing = true;
            t.since = now;
            t.firedAt = now;
            fired.push(t);
          }
        } else {
          t.activeSince = undefined;
          if (t.firing) {
            t.firing = false;
            t.since = now;
            resolved.push(t);
          }
        }
      }
    }
    // What a rule no longer watches (a group closed, a rule's service unseen) resolves and is forgotten.
    for (const [key, t] of this.#tracked) {
      if (seen.has(key)) continue;
      this.#tracked.delete(key);
      if (t.firing) {
        t.firing = false;
        t.since = now;
        resolved.push(t);
      }
    }
    if (!this.#webhook) return;
    if (fired.length > 0)
      this.#webhook.send({
        version: '4',
        status: 'firing',
        receiver: 'courier',
        alerts: fired.map((t) => toWebhook(t)),
      });
    if (resolved.length > 0)
      this.#webhook.send({
        version: '4',
        status: 'resolved',
        receiver: 'courier',
        alerts: resolved.map((t) => toWebhook(t)),
      });
  }
}

function toWebhook(t: Tracked): WebhookAlert {
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    status: t.firing ? 'firing' : 'resolved',
    labels: { alertname: t.rule.name, kind: t.rule.kind, ...t.sample.labels },
    annotations: { summary: t.sample.message, value: String(t.sample.value) },
    startsAt: iso(t.firedAt),
    endsAt: t.firing ? NEVER : iso(t.since),
  };
}
