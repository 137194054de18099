import { CourierError, type RawMessage } from '@courier/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFrame, writeFrame } from './frame-codec.js';
import { FrameDecoder } from './frame-decoder.js';
import { DeadLetterOp, type Frame, FrameType, PROTOCOL_VERSION, SettleKind } from './frame-types.js';
import { writeMessage } from './structures.js';
import { WireWriter } from './wire-writer.js';

const u32 = fc.nat({ max: 0xffffffff });
const str = fc.string({ unit: 'grapheme', maxLength: 20 });
const time = fc.integer({ min: 0, max: 4_102_444_800_000 });
const wireError = fc.record(
  {
    code: fc.constantFrom('TIMEOUT', 'HANDLER_ERROR', 'X'),
    message: str,
    retryable: fc.boolean(),
    data: fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown),
  },
  { requiredKeys: ['code', 'message', 'retryable'] },
);
const message: fc.Arbitrary<RawMessage> = fc.record(
  {
    id: str,
    subject: str,
    payload: fc.uint8Array({ maxLength: 64 }),
    contentType: str,
    headers: fc.dictionary(str, str, { maxKeys: 4 }),
    time,
    source: str,
    key: str,
    deliverAt: time,
  },
  { requiredKeys: ['id', 'subject', 'payload', 'contentType', 'headers', 'time', 'source'] },
);
const reply = fc.oneof(
  fc.record({
    ok: fc.constant(true as const),
    payload: fc.uint8Array({ maxLength: 32 }),
    contentType: str,
    headers: fc.dictionary(str, str, { maxKeys: 3 }),
  }),
  fc.record({ ok: fc.constant(false as const), error: wireError }),
);
const settlement = fc.oneof(
  fc.record({ kind: fc.constantFrom(SettleKind.ACK, SettleKind.TOUCH), consumer: u32, token: u32 }),
  fc.record({ kind: fc.constant(SettleKind.NACK), consumer: u32, token: u32, delay: u32 }),
  fc.record({ kind: fc.constant(SettleKind.DEAD), consumer: u32, token: u32, error: wireError }),
);
const deadLetter = fc.record({ message, group: str, pattern: str, error: wireError, attempts: u32, time });

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constant(FrameType.HELLO),
    minVersion: fc.nat(0xffff),
    maxVersion: fc.integer({ min: PROTOCOL_VERSION.min, max: 0xffff }),
    token: str,
    service: str,
    instance: str,
    client: str,
    version: str,
  }),
  fc.record({
    type: fc.constant(FrameType.WELCOME),
    version: fc.nat(0xffff),
    maxFrame: u32,
    maxPayload: u32,
    server: str,
    heartbeat: u32,
  }),
  fc.record({ type: fc.constantFrom(FrameType.PING, FrameType.PONG), nonce: u32 }),
  fc.record({ type: fc.constant(FrameType.ERROR), ref: u32, error: wireError }),
  fc.record({
    type: fc.constant(FrameType.PUBLISH),
    firstSeq: u32,
    messages: fc.array(message, { maxLength: 4 }),
  }),
  fc.record({ type: fc.constant(FrameType.CONFIRM), firstSeq: u32, count: u32 }),
  fc.record({ type: fc.constant(FrameType.PUBLISH_FAILED), seq: u32, error: wireError }),
  fc.record({
    type: fc.constant(FrameType.SUBSCRIBE),
    consumer: u32,
    subject: str,
    group: str,
    durable: fc.boolean(),
    deliverAll: fc.boolean(),
    maxInFlight: u32,
    ackWait: u32,
  }),
  fc.record({ type: fc.constantFrom(FrameType.SUBSCRIBED, FrameType.UNSUBSCRIBED), consumer: u32 }),
  fc.record({
    type: fc.constant(FrameType.DELIVER),
    consumer: u32,
    deliveries: fc.array(fc.record({ token: u32, attempt: fc.nat(0xffff), message }), { maxLength: 3 }),
  }),
  fc.record({ type: fc.constant(FrameType.SETTLE), settlements: fc.array(settlement, { maxLength: 5 }) }),
  fc.record({ type: fc.constant(FrameType.UNSUBSCRIBE), consumer: u32, close: fc.boolean() }),
  fc.record({ type: fc.constant(FrameType.REQUEST), request: u32, timeout: u32, message }),
  fc.record({ type: fc.constant(FrameType.REPLY), request: u32, reply }),
  fc.record({ type: fc.constant(FrameType.SERVE), responder: u32, subject: str }),
  fc.record({ type: fc.constantFrom(FrameType.SERVING, FrameType.UNSERVE), responder: u32 }),
  fc.record({ type: fc.constant(FrameType.INCOMING), responder: u32, call: u32, message }),
  fc.record({ type: fc.constant(FrameType.RESPOND), call: u32, reply }),
  fc.record({
    type: fc.constant(FrameType.DEAD_LETTERS),
    op: u32,
    action: fc.constantFrom(DeadLetterOp.LIST, DeadLetterOp.REPLAY, DeadLetterOp.PURGE),
    group: str,
    limit: u32,
    cursor: u32,
    ids: fc.option(fc.array(str, { maxLength: 3 }), { nil: undefined }),
  }),
  fc.record({
    type: fc.constant(FrameType.DEAD_LETTERS_RESULT),
    op: u32,
    count: u32,
    next: u32,
    entries: fc.array(deadLetter, { maxLength: 2 }),
  }),
);

function encode(frames: readonly Frame[]): Buffer {
  const w = new WireWriter(16);
  for (const f of frames) writeFrame(w, f);
  return Buffer.from(w.take());
}

/** Decodes `bytes` cut at the given points; returns frames or the error it stopped on. */
function decodeInChunks(
  bytes: Buffer,
  cuts: number[],
  maxFrame = 1 << 20,
): { frames: Frame[]; error?: unknown } {
  const decoder = new FrameDecoder({ maxFrame });
  const frames: Frame[] = [];
  let at = 0;
  try {
    for (const cut of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
      frames.push(...decoder.push(bytes.subarray(at, Math.max(at, cut))));
      at = Math.max(at, cut);
    }
  } catch (error) {
    return { frames, error };
  }
  return { frames };
}

const isBufferJson = (v: unknown): v is { data: number[] } =>
  typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && 'data' in v;

/** Frames as plain data: bytes as arrays (a Buffer view and a Uint8Array alike); a PUBLISH's `encoded` is left out (checked on its own). */
const plain = (value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value, (k, v: unknown) => {
      if (k === 'encoded') return undefined;
      if (isBufferJson(v)) return { bytes: v.data };
      return v instanceof Uint8Array ? { bytes: Array.from(v) } : v;
    }),
  );

describe('frame codec', () => {
  it('round-trips every frame, however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(frame, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (frames, cuts) => {
          const { frames: back, error } = decodeInChunks(encode(frames), cuts);
          expect(error).toBeUndefined();
          expect(plain(back)).toEqual(plain(frames));
        },
      ),
    );
  });

  it('a decoded PUBLISH hands along each message structure as it came, which decodes to the same message', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), (messages) => {
        const [back] = decodeInChunks(
          encode([{ type: FrameType.PUBLISH, firstSeq: 7, messages }]),
          [],
        ).frames;
        if (back?.type !== FrameType.PUBLISH) throw new Error('expected a PUBLISH frame');
        expect(back.encoded).toHaveLength(messages.length);
        back.encoded?.forEach((bytes, i) => {
          const alone = new WireWriter(16);
          writeMessage(alone, messages[i] as RawMessage);
          expect(Buffer.from(bytes)).toEqual(Buffer.from(alone.take()));
        });
      }),
    );
  });

  it('fuzz: random bytes end in frames or a PROTOCOL_ERROR, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.array(fc.nat(), { maxLength: 4 }), (bytes, cuts) => {
        const { error } = decodeInChunks(Buffer.from(bytes), cuts, 4096);
        if (error !== undefined) expect(error).toMatchObject({ code: 'PROTOCOL_ERROR' });
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: mutated valid frames end in frames or a PROTOCOL_ERROR, never another exception', () => {
    fc.assert(
      fc.property(
        frame,
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        (f, flips) => {
          const bytes = encode([f]);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const { error } = decodeInChunks(bytes, [], 1 << 16);
          if (error !== undefined) {
            expect(error).toBeInstanceOf(CourierError);
            expect(error).toMatchObject({ code: 'PROTOCOL_ERROR' });
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses an oversized length prefix before buffering the frame', () => {
    const decoder = new FrameDecoder({ maxFrame: 1024 });
    const header = Buffer.alloc(5);
    header.writeUInt32BE(0xfffffff0, 0);
    expect(() => decoder.push(header)).toThrow(/exceeds the limit of 1.0 KiB/);
    expect(decoder.buffered).toBeLessThan(16);
  });

  it('waits for the rest of a truncated frame without error', () => {
    const bytes = encode([{ type: FrameType.PING, nonce: 7 }]);
    const decoder = new FrameDecoder({ maxFrame: 1024 });
    expect(decoder.push(bytes.subarray(0, bytes.length - 1))).toEqual([]);
    expect(decoder.push(bytes.subarray(bytes.length - 1))).toEqual([{ type: FrameType.PING, nonce: 7 }]);
  });

  it('names what is wrong: unknown types, trailing bytes, counts beyond the frame', () => {
    expect(() => readFrame(Buffer.from([0x7f]))).toThrow(/unknown frame type 0x7f/);
    expect(() => readFrame(Buffer.from([FrameType.PING, 0, 0, 0, 1, 9]))).toThrow(
      /PING frame has 1 unexpected trailing bytes/,
    );
    expect(() => readFrame(Buffer.from([FrameType.SETTLE, 0xff, 0xff]))).toThrow(
      /count 65535 is more than the frame can hold/,
    );
    expect(() => readFrame(Buffer.from([FrameType.CONFIRM, 0, 0]))).toThrow(/CONFIRM frame is truncated/);
  });
});
