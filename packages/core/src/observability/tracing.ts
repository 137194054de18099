/**
 * Tracing through the OpenTelemetry API only: the application registers an
 * SDK and a propagator; Courier creates spans that follow the messaging
 * semantic conventions and carries the W3C `traceparent` in message headers,
 * so a publish, its handlers, their requests and the responders form one
 * trace. Without a registered SDK nothing is created or injected.
 */
import { createRequire } from 'node:module';
import {
  type Attributes,
  type Context,
  context,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import type { CourierError } from '../errors.js';
import { type Headers, type RawMessage, setHeader } from '../message.js';

/** The instrumentation scope of Courier's spans. */
export const TRACER_NAME = '@courier/core';

// From src/observability or dist/observability, the package's manifest is two levels up.
const TRACER_VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

// The provider the API hands out while no SDK is registered.
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

const headerSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => setHeader(carrier, key, value),
};

/** Which operation a span is: its kind, its semantic-convention operation type, and its name. */
export type TracedOperation = 'send' | 'process' | 'request' | 'handle';

const OPERATIONS: Readonly<Record<TracedOperation, { kind: SpanKind; type: 'send' | 'process' }>> = {
  send: { kind: SpanKind.PRODUCER, type: 'send' },
  process: { kind: SpanKind.CONSUMER, type: 'process' },
  request: { kind: SpanKind.CLIENT, type: 'send' },
  handle: { kind: SpanKind.SERVER, type: 'process' },
};

/**
 * True when the application registered a tracer provider. Checked on every
 * operation (it is two property reads), so that an SDK registered after
 * `connect` still sees Courier's spans.
 */
export function tracingActive(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_PROVIDER);
}

/** Where a delivery or request was received: the group and attempt for a subscription. */
export interface SpanPlace {
  /** The engine's name, `messaging.system`. */
  readonly system: string;
  /** The group as the application named it; absent for private subscriptions and requests. */
  readonly group?: string | undefined;
  /** The subscription's or handler's subject pattern. */
  readonly pattern?: string | undefined;
  /** The delivery attempt, 1-based; subscriptions only. */
  readonly attempt?: number | undefined;
}

/** A span of one message operation and the context it runs in. */
export interface MessageSpan {
  readonly span: Span;
  /** The context with the span active: operations run inside it become its children. */
  readonly context: Context;
  /** The trace id, for log lines. */
  readonly traceId: string;
}

function attributesOf(operation: TracedOperation, message: RawMessage, place: SpanPlace): Attributes {
  const attributes: Attributes = {
    'messaging.system': place.system,
    'messaging.destination.name': message.subject,
    'messaging.operation.type': OPERATIONS[operation].type,
    'messaging.operation.name': operation,
    'messaging.message.id': message.id,
    'messaging.message.body.size': message.payload.byteLength,
  };
  if (place.group !== undefined) attributes['messaging.consumer.group.name'] = place.group;
  if (place.pattern !== undefined && place.pattern !== message.subject)
    attributes['messaging.destination.subscription.name'] = place.pattern;
  if (place.attempt !== undefined) attributes['courier.attempt'] = place.attempt;
  if (message.key !== undefined) attributes['courier.message.key'] = message.key;
  return attributes;
}

/**
 * Starts the span of an outgoing message (`send` or `request`) as a child of
 * the active context, and injects its context into the message's headers.
 * Call only when {@link tracingActive}.
 */
export function startOutgoingSpan(
  operation: 'send' | 'request',
  message: RawMessage,
  place: SpanPlace,
): MessageSpan {
  const parent = context.active();
  const span = startSpan(operation, message, place, parent);
  const active = trace.setSpan(parent, span);
  // With no propagator registered there is nothing to inject: leave the headers alone.
  if (propagation.fields().length > 0) propagation.inject(active, message.headers, headerSetter);
  return { span, context: active, traceId: span.spanContext().traceId };
}

/**
 * Starts the span of an incoming message (`process` or `handle`) as a child
 * of the context its headers carry, never of whatever happens to be active
 * where the engine delivered it. Call only when {@link tracingActive}.
 */
export function startIncomingSpan(
  operation: 'process' | 'handle',
  message: RawMessage,
  place: SpanPlace,
): MessageSpan {
  const parent = propagation.extract(ROOT_CONTEXT, message.headers);
  const span = startSpan(operation, message, place, parent);
  return { span, context: trace.setSpan(parent, span), traceId: span.spanContext().traceId };
}

/** The span `<operation> <subject>` with the messaging attributes, as a child of `parent`. */
function startSpan(operation: TracedOperation, message: RawMessage, place: SpanPlace, parent: Context): Span {
  return trace
    .getTracer(TRACER_NAME, TRACER_VERSION)
    .startSpan(
      `${operation} ${message.subject}`,
      { kind: OPERATIONS[operation].kind, attributes: attributesOf(operation, message, place) },
      parent,
    );
}

/** Ends a span with an outcome: unset status on success, error status, exception and `error.type` on failure. */
export function endSpan(span: Span, failure?: CourierError, outcome?: string): void {
  if (outcome !== undefined) span.setAttribute('courier.outcome', outcome);
  if (failure !== undefined) {
    span.recordException(failure);
    span.setAttribute('error.type', failure.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
  }
  span.end();
}

/** Runs `work` with `active` as the active context, so that spans it starts become children. */
export function runInContext<T>(active: Context, work: () => Promise<T>): Promise<T> {
  return context.with(active, work);
}
