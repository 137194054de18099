/**
 * Client-side metrics with prom-client, on whatever engine the Bus uses, in
 * a registry the application passes in (Courier never touches the global
 * default registry). Every Bus on one registry shares one set of metrics,
 * so two buses do not collide with "already registered". Subject labels are
 * capped: past the limit, new subjects are counted under `_other`.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CourierError, ErrorCodes } from '../errors.js';

/** The `metrics` option of `connect`: a registry, or a registry with settings. */
export type MetricsOption = Registry | MetricsOptions;

/** Settings for client metrics. */
export interface MetricsOptions {
  /** Where the metrics are registered; the application serves it (e.g. `await registry.metrics()`). */
  registry: Registry;
  /**
   * The most distinct values of the `subject` label per registry; later
   * subjects are counted as `_other`. Default 100. The first Bus on a
   * registry sets it.
   */
  maxSubjects?: number;
}

/** The label value of subjects past the cap. */
export const OTHER_SUBJECTS = '_other';

/** The `group` label of subscriptions without a group. */
export const PRIVATE_GROUP = '_private';

/** What happened to one handled message. */
export type HandledOutcome = 'ack' | 'retry' | 'dead_letter';

// Publish-to-handler latency includes time queued in the engine: seconds to minutes, not only milliseconds.
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The metrics one registry holds for every Bus on it. */
export class ClientMetrics {
  readonly published: Counter<'subject' | 'outcome'>;
  readonly publishedBytes: Counter<'subject'>;
  readonly handled: Counter<'group' | 'subject' | 'outcome'>;
  readonly handlerDuration: Histogram<'group' | 'subject'>;
  readonly publishToHandler: Histogram<'group' | 'subject'>;
  readonly inFlight: Gauge<'group'>;
  readonly requests: Counter<'subject' | 'outcome'>;
  readonly requestDuration: Histogram<'subject' | 'outcome'>;
  readonly served: Counter<'subject' | 'outcome'>;
  readonly #subjects = new Set<string>();
  readonly #maxSubjects: number;

  constructor(registry: Registry, maxSubjects: number) {
    this.#maxSubjects = maxSubjects;
    const registers = [registry];
    this.published = new Counter({
      name: 'courier_client_published_messages_total',
      help: 'Messages this process published, by subject and outcome (ok, or the error code in lower case).',
      labelNames: ['subject', 'outcome'],
      registers,
    });
    this.publishedBytes = new Counter({
      name: 'courier_client_published_bytes_total',
      help: 'Payload bytes of the messages this process published successfully, by subject.',
      labelNames: ['subject'],
      registers,
    });
    this.handled = new Counter({
      name: 'courier_client_handled_messages_total',
      help: 'Handler runs in this process, by group, subject and outcome: ack, retry or dead_letter.',
      labelNames: ['group', 'subject', 'outcome'],
      registers,
    });
    this.handlerDuration = new Histogram({
      name: 'courier_client_handler_duration_seconds',
      help: 'How long subscription handlers ran (middleware included), by group and subject.',
      labelNames: ['group', 'subject'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.publishToHandler = new Histogram({
      name: 'courier_client_publish_to_handler_seconds',
      help: "Time from a message's publish (its time attribute) to the start of its handler, by group and subject.",
      labelNames: ['group', 'subject'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.inFlight = new Gauge({
      name: 'courier_client_in_flight',
      help: 'Subscription handlers running now in this process, by group.',
      labelNames: ['group'],
      registers,
    });
    this.requests = new Counter({
      name: 'courier_client_requests_total',
      help: 'Requests this process sent, by subject and outcome (ok, or the error code in lower case).',
      labelNames: ['subject', 'outcome'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'courier_client_request_duration_seconds',
      help: 'Time from sending a request to its reply or failure, by subject and outcome.',
      labelNames: ['subject', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.served = new Counter({
      name: 'courier_client_served_requests_total',
      help: 'Requests the handlers of this process answered, by subject and outcome (ok, or the error code in lower case).',
      labelNames: ['subject', 'outcome'],
      registers,
    });
  }

  /** The `subject` label for a subject: itself while under the cap, else `_other`. */
  subject(subject: string): string {
    if (this.#subjects.has(subject)) return subject;
    if (this.#subjects.size >= this.#maxSubjects) return OTHER_SUBJECTS;
    this.#subjects.add(subject);
    return subject;
  }
}

const byRegistry = new WeakMap<Registry, ClientMetrics>();

/**
 * The client metrics of a registry, created on first use and shared by
 * every Bus on it.
 * @throws CourierError `INVALID_OPTION` when `metrics` is not a prom-client registry, or
 *   when the registry already holds a metric of the same name that Courier did not create.
 */
export function clientMetrics(option: MetricsOption): ClientMetrics {
  const { registry, maxSubjects } = resolve(option);
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    try {
      metrics = new ClientMetrics(registry, maxSubjects);
    } catch (error) {
      throw new CourierError(
        'INVALID_OPTION',
        `the metrics registry already holds a metric named like Courier's client metrics (${String((error as Error).message)}); pass a registry that another copy of @courier/core has not filled, or remove the conflicting metric`,
        { cause: error },
      );
    }
    byRegistry.set(registry, metrics);
  }
  return metrics;
}

function isRegistry(value: unknown): value is Registry {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Registry).registerMetric === 'function' &&
    typeof (value as Registry).metrics === 'function'
  );
}

function resolve(option: MetricsOption): { registry: Registry; maxSubjects: number } {
  const registry = isRegistry(option) ? option : (option as Partial<MetricsOptions> | null)?.registry;
  if (!isRegistry(registry)) {
    throw new CourierError(
      'INVALID_OPTION',
      `metrics must be a prom-client Registry or { registry, maxSubjects }, got ${typeof option}; pass new Registry() from prom-client`,
    );
  }
  const maxSubjects = isRegistry(option) ? 100 : (option.maxSubjects ?? 100);
  if (!Number.isInteger(maxSubjects) || maxSubjects < 1) {
    throw new CourierError(
      'INVALID_OPTION',
      `metrics.maxSubjects must be a whole number of at least 1, got ${String(maxSubjects)}`,
    );
  }
  return { registry, maxSubjects };
}

/** The `outcome` label of a failure: a known error code in lower case, or `error` for codes applications made up. */
export function failureOutcome(error: CourierError): string {
  return Object.hasOwn(ErrorCodes, error.code) ? error.code.toLowerCase() : 'error';
}
