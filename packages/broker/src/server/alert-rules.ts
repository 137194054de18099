/**
 * Alert rules from the broker's config (`alerts.rules`), checked once at
 * start, and what each kind measures. A rule yields one sample per thing it
 * watches (each group, each service...), each with labels, a value and
 * whether its condition holds; `alerts.ts` turns samples into firing and
 * resolved alerts.
 */
import { CourierError, type Duration, subjectMatcher, toMillis } from '@courier/core';
import type { ServiceInstance } from '../engine/service-registry.js';

/** What a rule watches. */
export type AlertKind =
  | 'group-lag'
  | 'dead-letters-growing'
  | 'no-subscribers'
  | 'instance-gone'
  | 'disk-nearly-full';

const KINDS: readonly AlertKind[] = [
  'group-lag',
  'dead-letters-growing',
  'no-subscribers',
  'instance-gone',
  'disk-nearly-full',
];

/** One rule, as written in the config. See docs/monitoring.md for each kind's threshold and default. */
export interface AlertRule {
  /** Unique; the alert's `alertname`. */
  name: string;
  kind: AlertKind;
  /** `group-lag`, `dead-letters-growing`: only this group (default every group). */
  group?: string;
  /** `no-subscribers`: the subject that must have a subscriber (required). */
  subject?: string;
  /** `instance-gone`: only this service (default every service seen since start). */
  service?: string;
  /** The limit; its meaning and default depend on the kind. */
  threshold?: number;
  /** How long the condition must hold before the alert fires. Default 0. */
  for?: Duration;
  /** `dead-letters-growing`: the window the growth is measured over. Default 5m. */
  window?: Duration;
}

/** The `alerts` section of the broker's config. */
export interface AlertsConfig {
  /** Where firing and resolved alerts are POSTed (Alertmanager-like JSON). */
  webhook?: string;
  /** How often rules are evaluated. Default 15000. */
  intervalMs?: number;
  rules: AlertRule[];
}

/** A rule after checking: durations in ms, threshold filled in. */
export interface CheckedRule extends AlertRule {
  threshold: number;
  forMs: number;
  windowMs: number;
}

const DEFAULT_THRESHOLD: Record<AlertKind, number> = {
  'group-lag': 1000,
  'dead-letters-growing': 0,
  'no-subscribers': 1,
  'instance-gone': 1,
  'disk-nearly-full': 0.9,
};

function invalid(path: string, problem: string): CourierError {
  return new CourierError('INVALID_OPTION', `alerts config: ${path} ${problem}; see docs/monitoring.md`);
}

function optionalString(rule: Record<string, unknown>, field: string, path: string): void {
  const value = rule[field];
  if (value !== undefined && (typeof value !== 'string' || value === ''))
    throw invalid(`${path}.${field}`, `must be a non-empty string, got ${JSON.stringify(value)}`);
}

/** Checks a rule list; throws `INVALID_OPTION` naming the rule and field. */
export function checkRules(rules: unknown): CheckedRule[] {
  if (!Array.isArray(rules))
    throw invalid('rules', `must be an array of rules, got ${JSON.stringify(rules)}`);
  const names = new Set<string>();
  return rules.map((raw: unknown, i) => {
    const path = `rules[${i}]`;
    if (typeof raw !== 'object' || raw === null)
      throw invalid(path, `must be an object, got ${JSON.stringify(raw)}`);
    const rule = raw as Record<string, unknown>;
    if (typeof rule['name'] !== 'string' || rule['name'] === '')
      throw invalid(`${path}.name`, 'must be a non-empty string');
    if (names.has(rule['name']))
      throw invalid(`${path}.name`, `repeats ${JSON.stringify(rule['name'])}; names must be unique`);
    names.add(rule['name']);
    const kind = rule['kind'];
    if (!KINDS.includes(kind as AlertKind))
      throw invalid(`${path}.kind`, `must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
    for (const field of ['group', 'subject', 'service']) optionalString(rule, field, path);
    if (kind === 'no-subscribers' && rule['subject'] === undefined)
      throw invalid(
        `${path}.subject`,
        'is required for kind no-subscribers (the subject that must have a subscriber)',
      );
    const threshold = rule['threshold'] ?? DEFAULT_THRESHOLD[kind as AlertKind];
    if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0)
      throw invalid(`${path}.threshold`, `must be a number >= 0, got ${JSON.stringify(rule['threshold'])}`);
    if (kind === 'disk-nearly-full' && threshold > 1)
      throw invalid(
        `${path}.threshold`,
        `is the used fraction of the disk, from 0 to 1 (0.9 = 90%), got ${threshold}`,
      );
    return {
      ...(rule as unknown as AlertRule),
      threshold,
      forMs: toMillis((rule['for'] as Duration | undefined) ?? 0, `alerts config: ${path}.for`),
      windowMs: toMillis((rule['window'] as Duration | undefined) ?? '5m', `alerts config: ${path}.window`),
    };
  });
}

/** Checks the whole `alerts` section. */
export function checkAlertsConfig(config: unknown): Required<Pick<AlertsConfig, 'intervalMs'>> & {
  webhook: string | undefined;
  rules: CheckedRule[];
} {
  if (typeof config !== 'object' || config === null)
    throw invalid('', `must be an object like { "rules": [...] }, got ${JSON.stringify(config)}`);
  const { webhook, intervalMs = 15_000, rules } = config as Partial<AlertsConfig>;
  if (webhook !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(webhook);
    } catch {}
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw invalid('webhook', `must be an http(s) URL, got ${JSON.stringify(webhook)}`);
  }
  if (typeof intervalMs !== 'number' || !Number.isInteger(intervalMs) || intervalMs < 10)
    throw invalid(
      'intervalMs',
      `must be a whole number of milliseconds >= 10, got ${JSON.stringify(intervalMs)}`,
    );
  return { webhook, intervalMs, rules: checkRules(rules) };
}

/** What the rules read, gathered once per evaluation. */
export interface AlertInputs {
  now: number;
  groups: { group: string; pattern: string; pending: number; members: number }[];
  /** Dead letters since start, by group. */
  deadLetters: Map<string, number>;
  services: ServiceInstance[];
  /** Services seen since start. */
  servicesSeen: ReadonlySet<string>;
  disk: { size: number; available: number } | undefined;
}

/** One thing a rule watches, now. */
export interface AlertSample {
  labels: Record<string, string>;
  value: number;
  active: boolean;
  message: string;
}

/** Dead-letter counts over time, per rule and group, for `dead-letters-growing`. */
export type DeadLetterHistory = Map<string, { time: number; count: number }[]>;

/** The samples of `rule` for `inputs`. */
export function evaluateRule(
  rule: CheckedRule,
  inputs: AlertInputs,
  history: DeadLetterHistory,
): AlertSample[] {
  const { threshold } = rule;
  switch (rule.kind) {
    case 'group-lag':
      return inputs.groups
        .filter((g) => rule.group === undefined || g.group === rule.group)
        .map((g) => ({
          labels: { group: g.group, pattern: g.pattern },
          value: g.pending,
          active: g.pending > threshold,
          message: `group ${g.group} on ${g.pattern} has ${g.pending} messages not yet delivered (threshold ${threshold})`,
        }));
    case 'dead-letters-growing': {
      const groups = rule.group === undefined ? [...inputs.deadLetters.keys()] : [rule.group];
      return groups.map((group) => {
        const count = inputs.deadLetters.get(group) ?? 0;
        const key = JSON.stringify([rule.name, group]);
        const points = (history.get(key) ?? []).filter((p) => p.time >= inputs.now - rule.windowMs);
        // Without a point older than the window, the growth counts from zero (the broker's start).
        const base = points[0]?.count ?? 0;
        points.push({ time: inputs.now, count });
        history.set(key, points);
        const growth = count - base;
        return {
          labels: { group },
          value: growth,
          active: growth > threshold,
          message: `group ${group} dead-lettered ${growth} messages in the last ${rule.windowMs / 1000}s (threshold ${threshold})`,
        };
      });
    }
    case 'no-subscribers': {
      const subject = rule.subject as string;
      let members = 0;
      for (const g of inputs.groups) if (subjectMatcher(g.pattern)(subject)) members += g.members;
      for (const i of inputs.services) for (const h of i.handlers) if (subjectMatcher(h)(subject)) members++;
      return [
        {
          labels: { subject },
          value: members,
          active: members < threshold,
          message: `subject ${subject} has ${members} subscribers and handlers (needs at least ${threshold})`,
        },
      ];
    }
    case 'instance-gone': {
      const services = rule.service === undefined ? [...inputs.servicesSeen] : [rule.service];
      return services.map((service) => {
        const live = inputs.services.filter((i) => i.service === service).length;
        return {
          labels: { service },
          value: live,
          active: live < threshold,
          message: `service ${service} has ${live} live instances (needs at least ${threshold})`,
        };
      });
    }
    case 'disk-nearly-full': {
      if (!inputs.disk || inputs.disk.size === 0) return [];
      const used = 1 - inputs.disk.available / inputs.disk.size;
      return [
        {
          labels: {},
          value: used,
          active: used >= threshold,
          message: `the broker's disk is ${(used * 100).toFixed(1)}% full, ${inputs.disk.available} bytes left (threshold ${(threshold * 100).toFixed(0)}%)`,
        },
      ];
    }
  }
}
