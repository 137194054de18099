import { startOrderChain } from '@courier/testkit';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../connect.js';
import { CourierError } from '../errors.js';
import { newId } from '../id.js';
import type { Headers } from '../message.js';
import { tracingActive } from './tracing.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

function named(name: string): ReadableSpan {
  const found = exporter.getFinishedSpans().filter((span) => span.name === name);
  expect(found, `one span named ${name}`).toHaveLength(1);
  return found[0] as ReadableSpan;
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

describe('tracing without an SDK', () => {
  it('creates nothing and leaves the headers alone when no tracer provider is registered', async () => {
    expect(tracingActive()).toBe(false);
    await using bus = await connect('memory://');
    let seen: Headers | undefined;
    await bus.subscribe('a.b', (_data, ctx) => {
      seen = ctx.headers;
    }).ready;
    await bus.publish('a.b', 1, { headers: { mine: 'yes' } });
    await expect.poll(() => seen).toEqual({ mine: 'yes' });
  });
});

describe('tracing with an SDK registered', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterEach(() => exporter.reset());
  afterAll(async () => {
    trace.disable();
    context.disable();
    propagation.disable();
    await provider.shutdown();
  });

  it('makes one tree of publish, handler, its publish, the next handler, its request and the responder', async () => {
    const url = `memory://trace-${newId()}`;
    await using services = await startOrderChain(url);
    expect(tracingActive()).toBe(true);

    const receipt = await services.publish({ id: 'o-1' });
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(6);

    const send = named('send orders');
    const processOrders = named('process orders');
    const sendCreated = named('send orders.created');
    const processCreated = named('process orders.created');
    const request = named('request inventory.reserve');
    const handle = named('handle inventory.reserve');
    const spans = [send, processOrders, sendCreated, processCreated, request, handle];
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(parentOf(send)).toBeUndefined();
    expect(parentOf(processOrders)).toBe(send.spanContext().spanId);
    expect(parentOf(sendCreated)).toBe(processOrders.spanContext().spanId);
    expect(parentOf(processCreated)).toBe(sendCreated.spanContext().spanId);
    expect(parentOf(request)).toBe(processCreated.spanContext().spanId);
    expect(parentOf(handle)).toBe(request.spanContext().spanId);
    expect(spans.map((span) => span.kind)).toEqual([
      SpanKind.PRODUCER,
      SpanKind.CONSUMER,
      SpanKind.PRODUCER,
      SpanKind.CONSUMER,
      SpanKind.CLIENT,
      SpanKind.SERVER,
    ]);
    expect(send.instrumentationScope.name).toBe('@courier/core');
    expect(send.attributes).toEqual({
      'messaging.system': 'memory',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.message.id': receipt.id,
      'messaging.message.body.size': Buffer.byteLength(JSON.stringify({ id: 'o-1' })),
    });
    expect(processOrders.attributes).toMatchObject({
      'messaging.system': 'memory',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.message.id': receipt.id,
      'messaging.consumer.group.name': 'orders',
      'courier.attempt': 1,
      'courier.outcome': 'ack',
    });
    expect(request.attributes).toMatchObject({ 'messaging.operation.type': 'send' });
    expect(handle.attributes).toMatchObject({ 'messaging.operation.type': 'process' });
    expect(spans.every((span) => span.status.code === SpanStatusCode.UNSET)).toBe(true);
  });

  it('gives each attempt its own span with its number, failed ones with error status, all children of the publish', async () => {
    await using bus = await connect('memory://');
    await bus.subscribe(
      'jobs.run',
      (_data, ctx) => {
        if (ctx.attempt === 1) throw new Error('flaky');
      },
      { group: 'workers', retry: { attempts: 3, backoff: 'fixed', delay: '1ms' } },
    ).ready;
    await bus.publish('jobs.run', { n: 1 });
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(3);
    const send = named('send jobs.run');
    const attempts = exporter
      .getFinishedSpans()
      .filter((span) => span.name === 'process jobs.run')
      .sort((a, b) => Number(a.attributes['courier.attempt']) - Number(b.attributes['courier.attempt']));
    expect(attempts.map((span) => span.attributes['courier.attempt'])).toEqual([1, 2]);
    expect(attempts.map((span) => parentOf(span))).toEqual([
      send.spanContext().spanId,
      send.spanContext().spanId,
    ]);
    const [failed, succeeded] = attempts as [ReadableSpan, ReadableSpan];
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'flaky' });
    expect(failed.attributes).toMatchObject({ 'courier.outcome': 'retry', 'error.type': 'HANDLER_ERROR' });
    expect(failed.events.map((event) => event.name)).toEqual(['exception']);
    expect(succeeded.status.code).toBe(SpanStatusCode.UNSET);
    expect(succeeded.attributes['courier.outcome']).toBe('ack');
  });

  it('sets error status on both sides when a responder fails, and on the request when no one answers', async () => {
    await using bus = await connect('memory://');
    await bus.handle('stock.check', () => {
      throw new CourierError('UNAUTHORIZED', 'not your warehouse');
    }).ready;
    await expect(bus.request('stock.check', {})).rejects.toThrow('not your warehouse');
    await expect(bus.request('nobody.home', {})).rejects.toMatchObject({ code: 'NO_RESPONDERS' });
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(3);
    const client = named('request stock.check');
    const server = named('handle stock.check');
    expect(parentOf(server)).toBe(client.spanContext().spanId);
    for (const span of [client, server]) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'not your warehouse' });
      expect(span.attributes['error.type']).toBe('UNAUTHORIZED');
    }
    expect(named('request nobody.home').attributes['error.type']).toBe('NO_RESPONDERS');
  });

  it('carries traceparent in the headers and continues the trace the publisher was in', async () => {
    await using bus = await connect('memory://');
    let headers: Headers | undefined;
    await bus.subscribe('a.b', (_data, ctx) => {
      headers = ctx.headers;
    }).ready;
    const outer = trace.getTracer('test').startSpan('checkout');
    await context.with(trace.setSpan(context.active(), outer), () => bus.publish('a.b', 1));
    outer.end();
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(3);
    const send = named('send a.b');
    expect(parentOf(send)).toBe(outer.spanContext().spanId);
    expect(headers?.['traceparent']).toBe(
      `00-${outer.spanContext().traceId}-${send.spanContext().spanId}-01`,
    );
  });
});
