import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../connect.js';
import type { Logger } from './message-log.js';

type Line = Record<string, unknown> & { level: number; msg: string };

/** A real pino logger at debug level whose JSON lines are collected, parsed, in `lines`. */
function collectingLogger(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = pino(
    { level: 'debug', base: null, timestamp: false },
    { write: (text: string) => void lines.push(JSON.parse(text) as Line) },
  );
  return { logger, lines };
}

const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** Publishes one message to a group whose handler always fails: 2 attempts, then the dead-letter queue. */
async function failingWorkload(logger: Logger): Promise<string> {
  await using bus = await connect('memory://', { logger });
  await bus.subscribe(
    'orders.created',
    () => {
      throw new Error('card declined');
    },
    { group: 'billing', retry: { attempts: 2, backoff: 'fixed', delay: '1ms' } },
  ).ready;
  const { id } = await bus.publish('orders.created', { id: 'o-1' });
  await expect.poll(async () => (await bus.deadLetters.list('billing')).length).toBe(1);
  return id;
}

describe('message logs without tracing', () => {
  it('log a publish at debug, a retry at warn and a dead letter at error, each with the message fields', async () => {
    const { logger, lines } = collectingLogger();
    const id = await failingWorkload(logger);
    expect(lines).toEqual([
      { level: LEVEL.debug, messageId: id, subject: 'orders.created', msg: 'published' },
      {
        level: LEVEL.warn,
        messageId: id,
        subject: 'orders.created',
        group: 'billing',
        attempt: 1,
        retryIn: 1,
        err: expect.objectContaining({ type: 'CourierError', code: 'HANDLER_ERROR' }),
        msg: 'handler failed on attempt 1, retrying in 1 ms: card declined',
      },
      {
        level: LEVEL.error,
        messageId: id,
        subject: 'orders.created',
        group: 'billing',
        attempt: 2,
        err: expect.objectContaining({ type: 'CourierError', code: 'HANDLER_ERROR' }),
        msg: 'dead-lettered after attempt 2: card declined',
      },
    ]);
  });

  it('writes nothing below the logger level', async () => {
    const { logger, lines } = collectingLogger();
    (logger as ReturnType<typeof pino>).level = 'error';
    await failingWorkload(logger);
    expect(lines.map((line) => line.msg)).toEqual(['dead-lettered after attempt 2: card declined']);
  });

  it('refuses a logger without the four levels, naming what is missing', async () => {
    await expect(connect('memory://', { logger: { info: () => undefined } as never })).rejects.toThrow(
      /logger lacks debug, warn, error: it must have debug, info, warn and error methods/,
    );
  });
});

describe('message logs with tracing', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
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
  });

  it('carries the trace id of the message on every line, the same from publish to dead letter', async () => {
    const { logger, lines } = collectingLogger();
    await failingWorkload(logger);
    expect(lines).toHaveLength(3);
    const traceId = exporter
      .getFinishedSpans()
      .find((span) => span.name === 'send orders.created')
      ?.spanContext().traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(lines.map((line) => line['traceId'])).toEqual([traceId, traceId, traceId]);
  });

  it('logs a handled message and an answered request at debug', async () => {
    const { logger, lines } = collectingLogger();
    await using bus = await connect('memory://', { logger });
    await bus.handle('stock.check', () => ({ ok: true })).ready;
    await bus.request('stock.check', {});
    expect(lines.map((line) => [line.level, line.msg, line['subject']])).toEqual([
      [LEVEL.debug, 'answered request', 'stock.check'],
      [LEVEL.debug, 'request answered', 'stock.check'],
    ]);
    const [served, sent] = lines as [Line, Line];
    expect(served['messageId']).toBe(sent['messageId']);
    expect(served['traceId']).toBe(sent['traceId']);
  });
});
