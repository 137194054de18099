/**
 * Tracing on the embedded broker (`embedded://`): the same one-tree trace as
 * core's memory test (publish -> handler -> publish -> handler -> request ->
 * responder), with traceparent carried through the broker's stored headers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrderChain } from '@courier/testkit';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEngine } from '../src/transport/embedded.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const dir = await mkdtemp(join(tmpdir(), 'courier-tracing-'));

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(async () => {
  trace.disable();
  context.disable();
  propagation.disable();
  await provider.shutdown();
  await (await sharedEngine({ dir })).close();
  await rm(dir, { recursive: true, force: true });
});

function named(name: string): ReadableSpan {
  const found = exporter.getFinishedSpans().filter((span) => span.name === name);
  expect(found, `one span named ${name}`).toHaveLength(1);
  return found[0] as ReadableSpan;
}

describe('tracing on embedded://', () => {
  it('makes one tree of publish, handler, its publish, the next handler, its request and the responder', async () => {
    const url = `embedded://${dir}`;
    await using services = await startOrderChain(url);

    const receipt = await services.publish({ id: 'o-1' });
    // Six spans across two stored publishes and a request: give the disk writes time on a busy machine.
    await expect.poll(() => exporter.getFinishedSpans().length, { timeout: 10_000 }).toBe(6);

    const chain = [
      named('send orders'),
      named('process orders'),
      named('send orders.created'),
      named('process orders.created'),
      named('request inventory.reserve'),
      named('handle inventory.reserve'),
    ];
    expect(new Set(chain.map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(chain.map((span) => span.parentSpanContext?.spanId)).toEqual([
      undefined,
      ...chain.slice(0, -1).map((span) => span.spanContext().spanId),
    ]);
    expect(chain.map((span) => span.kind)).toEqual([
      SpanKind.PRODUCER,
      SpanKind.CONSUMER,
      SpanKind.PRODUCER,
      SpanKind.CONSUMER,
      SpanKind.CLIENT,
      SpanKind.SERVER,
    ]);
    expect(chain[1]?.attributes).toMatchObject({
      'messaging.system': 'embedded',
      'messaging.destination.name': 'orders',
      'messaging.message.id': receipt.id,
      'messaging.consumer.group.name': 'orders',
      'courier.attempt': 1,
    });
  });
});
