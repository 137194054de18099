/**
 * The Bus's one hook for observability: it wraps each publish, request,
 * handler run and responder run with the span, metrics and log lines that
 * the application asked for. With no metrics registry, no logger and no
 * tracer provider registered, every hook is a direct call.
 */
import { type CourierError, toCourierError } from '../errors.js';
import type { RawMessage } from '../message.js';
import {
  type ClientMetrics,
  clientMetrics,
  failureOutcome,
  type HandledOutcome,
  type MetricsOption,
  PRIVATE_GROUP,
} from './bus-metrics.js';
import { type Logger, type MessageFields, MessageLog } from './message-log.js';
import {
  endSpan,
  type MessageSpan,
  runInContext,
  startIncomingSpan,
  startOutgoingSpan,
  tracingActive,
} from './tracing.js';

/** What the observer needs from the Bus's options. */
export interface ObserverOptions {
  /** The engine's name: `messaging.system` on spans. */
  system: string;
  metrics?: MetricsOption | undefined;
  logger?: Logger | undefined;
}

/** Where a subscription received a delivery. */
export interface Receipt {
  /** The group as the application named it; `undefined` for a private subscription. */
  readonly group: string | undefined;
  /** The subscription's subject pattern. */
  readonly pattern: string;
  readonly attempt: number;
}

/** One handler run (a delivery's attempt, or a request's answer) being observed. */
export interface Observed<Outcome> {
  /** Runs the handler inside the span's context, counting it in flight and timing it. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Records how it ended; call once. */
  settle(outcome: Outcome, failure?: CourierError, details?: { retryIn?: number }): void;
}

/** What the hooks return when there is nothing to observe: `run` calls straight through. */
export const UNOBSERVED: Observed<never> = { run: (work) => work(), settle: () => undefined };

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** Observes one Bus's messages. Create one per Bus. */
export class Observer {
  readonly #system: string;
  readonly #metrics: ClientMetrics | undefined;
  readonly #log: MessageLog | undefined;

  /** @throws CourierError `INVALID_OPTION` for a bad registry or logger. */
  constructor(options: ObserverOptions) {
    this.#system = options.system;
    this.#metrics = options.metrics === undefined ? undefined : clientMetrics(options.metrics);
    this.#log = options.logger === undefined ? undefined : new MessageLog(options.logger);
  }

  /**
   * True while there is nothing to observe: no metrics, no logger, no tracer
   * provider registered. The Bus then skips the hooks altogether.
   */
  get quiet(): boolean {
    return this.#metrics === undefined && this.#log === undefined && !tracingActive();
  }

  /** The logger's error line for failures that have no caller, or `undefined` without a logger. */
  get onError(): ((error: unknown) => void) | undefined {
    const log = this.#log;
    return log && ((error) => log.failure(error));
  }

  /** Sends a message (span `send`, traceparent injected into its headers), counting and logging the outcome. */
  publish<T>(message: RawMessage, send: () => Promise<T>): Promise<T> {
    return this.#outgoing('send', message, send);
  }

  /** Sends a request (span `request`), counting and timing it by outcome. */
  request<T>(message: RawMessage, send: () => Promise<T>): Promise<T> {
    return this.#outgoing('request', message, send);
  }

  async #outgoing<T>(operation: 'send' | 'request', message: RawMessage, send: () => Promise<T>): Promise<T> {
    const traced = tracingActive()
      ? startOutgoingSpan(operation, message, { system: this.#system })
      : undefined;
    const metrics = this.#metrics;
    const log = this.#log;
    if (traced === undefined && metrics === undefined && log === undefined) return send();
    const started = performance.now();
    const fields: MessageFields = {
      messageId: message.id,
      subject: message.subject,
      traceId: traced?.traceId,
    };
    let failure: CourierError | undefined;
    try {
      return traced === undefined ? await send() : await runInContext(traced.context, send);
    } catch (error) {
      failure = toCourierError(error);
      throw error;
    } finally {
      const outcome = failure === undefined ? 'ok' : failureOutcome(failure);
      if (traced !== undefined) endSpan(traced.span, failure);
      if (metrics !== undefined) {
        const subject = metrics.subject(message.subject);
        if (operation === 'send') {
          metrics.published.inc({ subject, outcome });
          if (failure === undefined) metrics.publishedBytes.inc({ subject }, message.payload.byteLength);
        } else {
          metrics.requests.inc({ subject, outcome });
          metrics.requestDuration.observe({ subject, outcome }, seconds(started));
        }
      }
      if (log !== undefined) {
        const what = operation === 'send' ? 'published' : 'request answered';
        const text =
          failure === undefined
            ? what
            : `${operation === 'send' ? 'publish' : 'request'} failed: ${failure.message}`;
        log.write('debug', text, fields, failure === undefined ? {} : { error: failure });
      }
    }
  }

  /** Observes one attempt of a subscription's handler on a delivery (span `process`). */
  receive(message: RawMessage, receipt: Receipt): Observed<HandledOutcome> {
    const traced = tracingActive()
      ? startIncomingSpan('process', message, { system: this.#system, ...receipt })
      : undefined;
    const metrics = this.#metrics;
    const log = this.#log;
    if (traced === undefined && metrics === undefined && log === undefined) return UNOBSERVED;
    const group = receipt.group ?? PRIVATE_GROUP;
    const subject = metrics?.subject(message.subject) ?? message.subject;
    const fields: MessageFields = {
      messageId: message.id,
      subject: message.subject,
      group: receipt.group,
      attempt: receipt.attempt,
      traceId: traced?.traceId,
    };
    return {
      run: async (work) => {
        const started = performance.now();
        if (metrics !== undefined) {
          // Only first attempts: a retry's wait is backoff, not delivery latency.
          if (receipt.attempt === 1)
            metrics.publishToHandler.observe(
              { group, subject },
              Math.max(0, Date.now() - message.time) / 1000,
            );
          metrics.inFlight.inc({ group });
        }
        try {
          return traced === undefined ? await work() : await runInContext(traced.context, work);
        } finally {
          if (metrics !== undefined) {
            metrics.inFlight.dec({ group });
            metrics.handlerDuration.observe({ group, subject }, seconds(started));
          }
        }
      },
      settle: (outcome, failure, details = {}) => {
        if (traced !== undefined) endSpan(traced.span, failure, outcome);
        metrics?.handled.inc({ group, subject, outcome });
        if (log === undefined) return;
        const extra = failure === undefined ? {} : { error: failure };
        if (outcome === 'ack') log.write('debug', 'handled', fields, extra);
        else if (outcome === 'retry')
          log.write(
            'warn',
            `handler failed on attempt ${receipt.attempt}, retrying in ${details.retryIn ?? 0} ms: ${failure?.message ?? 'no error given'}`,
            fields,
            { ...extra, retryIn: details.retryIn },
          );
        else
          log.write(
            'error',
            `dead-lettered after attempt ${receipt.attempt}: ${failure?.message ?? 'no error given'}`,
            fields,
            extra,
          );
      },
    };
  }

  /** Observes one answer of a request handler (span `handle`). */
  serve(request: RawMessage, pattern: string): Observed<'ok' | 'error'> {
    const traced: MessageSpan | undefined = tracingActive()
      ? startIncomingSpan('handle', request, { system: this.#system, pattern })
      : undefined;
    const metrics = this.#metrics;
    const log = this.#log;
    if (traced === undefined && metrics === undefined && log === undefined) return UNOBSERVED;
    const fields: MessageFields = {
      messageId: request.id,
      subject: request.subject,
      traceId: traced?.traceId,
    };
    return {
      run: (work) => (traced === undefined ? work() : runInContext(traced.context, work)),
      settle: (_outcome, failure) => {
        if (traced !== undefined) endSpan(traced.span, failure);
        metrics?.served.inc({
          subject: metrics.subject(request.subject),
          outcome: failure === undefined ? 'ok' : failureOutcome(failure),
        });
        if (log === undefined) return;
        if (failure === undefined) log.write('debug', 'answered request', fields);
        else log.write('warn', `request handler failed: ${failure.message}`, fields, { error: failure });
      },
    };
  }
}
