/**
 * Encodes and decodes frames. Decoding trusts nothing: every length is
 * checked against the frame, every enum against its values, and JSON error
 * data is parsed defensively; any violation is a `PROTOCOL_ERROR`.
 */
import { CourierError } from '@courier/core';
import {
  DeadLetterOp,
  type DeliveredMessage,
  type Frame,
  FrameType,
  PROTOCOL_VERSION,
  SettleKind,
  type Settlement,
} from './frame-types.js';
import {
  deliverFromFlags,
  readDeadLetter,
  readDeliverFrom,
  readError,
  readMessage,
  readReply,
  writeDeadLetter,
  writeDeliverFrom,
  writeError,
  writeMessage,
  writeReply,
} from './structures.js';
import { WireReader } from './wire-reader.js';
import type { WireWriter } from './wire-writer.js';

const DURABLE = 1;
const DELIVER_ALL = 2;

const NAMES = new Map<number, string>(Object.entries(FrameType).map(([name, code]) => [code, name]));

/** The name of a frame type code, for messages. */
export function frameName(type: number): string {
  return NAMES.get(type) ?? `unknown(0x${type.toString(16)})`;
}

function writeSettlement(w: WireWriter, s: Settlement): void {
  w.u8(s.kind);
  w.u32(s.consumer);
  w.u32(s.token);
  if (s.kind === SettleKind.NACK) w.u32(s.delay);
  else if (s.kind === SettleKind.DEAD) writeError(w, s.error);
}

function readSettlement(r: WireReader): Settlement {
  const kind = r.u8('settle kind');
  const consumer = r.u32('consumer');
  const token = r.u32('token');
  switch (kind) {
    case SettleKind.ACK:
    case SettleKind.TOUCH:
      return { kind, consumer, token };
    case SettleKind.NACK:
      return { kind, consumer, token, delay: r.u32('delay') };
    case SettleKind.DEAD:
      return { kind, consumer, token, error: readError(r) };
    default:
      throw new CourierError('PROTOCOL_ERROR', `unknown settle kind ${kind}`);
  }
}

/** Appends one frame to `w`; returns its size on the wire. */
export function writeFrame(w: WireWriter, frame: Frame): number {
  w.beginFrame(frame.type);
  switch (frame.type) {
    case FrameType.HELLO:
      w.u16(frame.minVersion);
      w.u16(frame.maxVersion);
      w.text(frame.token);
      w.str(frame.service);
      w.str(frame.instance);
      w.str(frame.client);
      w.str(frame.version);
      break;
    case FrameType.WELCOME:
      w.u16(frame.version);
      w.u32(frame.maxFrame);
      w.u32(frame.maxPayload);
      w.str(frame.server);
      w.u32(frame.heartbeat);
      break;
    case FrameType.PING:
    case FrameType.PONG:
      w.u32(frame.nonce);
      break;
    case FrameType.ERROR:
      w.u32(frame.ref);
      writeError(w, frame.error);
      break;
    case FrameType.PUBLISH:
      w.u32(frame.firstSeq);
      w.u16(frame.messages.length);
      for (const m of frame.messages) writeMessage(w, m);
      break;
    case FrameType.CONFIRM:
      w.u32(frame.firstSeq);
      w.u32(frame.count);
      break;
    case FrameType.PUBLISH_FAILED:
      w.u32(frame.seq);
      writeError(w, frame.error);
      break;
    case FrameType.SUBSCRIBE:
      w.u32(frame.consumer);
      w.str(frame.subject);
      w.str(frame.group);
      w.u8(
        (frame.durable ? DURABLE : 0) | (frame.deliverAll ? DELIVER_ALL : 0) | deliverFromFlags(frame.from),
      );
      w.u32(frame.maxInFlight);
      w.u32(frame.ackWait);
      writeDeliverFrom(w, frame.from);
      break;
    case FrameType.SUBSCRIBED:
    case FrameType.UNSUBSCRIBED:
      w.u32(frame.consumer);
      break;
    case FrameType.DELIVER:
      w.u32(frame.consumer);
      w.u16(frame.deliveries.length);
      for (const d of frame.deliveries) {
        w.u32(d.token);
        w.u16(d.attempt);
        writeMessage(w, d.message);
      }
      break;
    case FrameType.SETTLE:
      w.u16(frame.settlements.length);
      for (const s of frame.settlements) writeSettlement(w, s);
      break;
    case FrameType.UNSUBSCRIBE:
      w.u32(frame.consumer);
      w.u8(frame.close ? 1 : 0);
      break;
    case FrameType.REQUEST:
      w.u32(frame.request);
      w.u32(frame.timeout);
      writeMessage(w, frame.message);
      break;
    case FrameType.REPLY:
      w.u32(frame.request);
      writeReply(w, frame.reply);
      break;
    case FrameType.SERVE:
      w.u32(frame.responder);
      w.str(frame.subject);
      break;
    case FrameType.SERVING:
    case FrameType.UNSERVE:
      w.u32(frame.responder);
      break;
    case FrameType.INCOMING:
      w.u32(frame.responder);
      w.u32(frame.call);
      writeMessage(w, frame.message);
      break;
    case FrameType.RESPOND:
      w.u32(frame.call);
      writeReply(w, frame.reply);
      break;
    case FrameType.DEAD_LETTERS:
      w.u32(frame.op);
      w.u8(frame.action);
      w.str(frame.group);
      w.u32(frame.limit);
      w.u32(frame.cursor);
      w.u8(frame.ids === undefined ? 0 : 1);
      if (frame.ids !== undefined) {
        w.u32(frame.ids.length);
        for (const id of frame.ids) w.str(id);
      }
      break;
    case FrameType.DEAD_LETTERS_RESULT:
      w.u32(frame.op);
      w.u32(frame.count);
      w.u32(frame.next);
      w.u32(frame.entries.length);
      for (const d of frame.entries) writeDeadLetter(w, d);
      break;
  }
  return w.endFrame();
}

function list<T>(r: WireReader, count: number, min: number, read: () => T): T[] {
  // Each item takes at least `min` bytes, so a count larger than the frame can hold is refused before looping.
  if (count * min > r.remaining)
    throw new CourierError('PROTOCOL_ERROR', `count ${count} is more than the frame can hold`);
  const items: T[] = [];
  for (let i = 0; i < count; i++) items.push(read());
  return items;
}

const MIN_MESSAGE = 2 * 4 + 8 + 1 + 2 + 4;

/**
 * Decodes one frame's body (the bytes after the length).
 * @throws CourierError `PROTOCOL_ERROR` naming the frame and what is wrong.
 */
export function readFrame(body: Buffer, start = 0, end = body.length): Frame {
  const type = body[start];
  if (type === undefined)
    throw new CourierError('PROTOCOL_ERROR', 'empty frame: a frame has at least a type byte');
  const r = new WireReader(body, { start: start + 1, end, what: frameName(type) });
  const frame = readBody(type, r);
  r.end();
  return frame;
}

function readBody(type: number, r: WireReader): Frame {
  switch (type) {
    case FrameType.HELLO: {
      const minVersion = r.u16('min version');
      const maxVersion = r.u16('max version');
      if (maxVersion < PROTOCOL_VERSION.min) {
        // An older client's HELLO has another layout after the versions: read
        // only them, so the broker can refuse with the versions it speaks.
        r.skipRest();
        return {
          type,
          minVersion,
          maxVersion,
          token: '',
          service: '',
          instance: '',
          client: '',
          version: '',
        };
      }
      return {
        type,
        minVersion,
        maxVersion,
        token: r.text('token'),
        service: r.str('service'),
        instance: r.str('instance'),
        client: r.str('client'),
        version: r.str('version'),
      };
    }
    case FrameType.WELCOME:
      return {
        type,
        version: r.u16('version'),
        maxFrame: r.u32('max frame'),
        maxPayload: r.u32('max payload'),
        server: r.str('server'),
        heartbeat: r.u32('heartbeat'),
      };
    case FrameType.PING:
    case FrameType.PONG:
      return { type, nonce: r.u32('nonce') };
    case FrameType.ERROR:
      return { type, ref: r.u32('ref'), error: readError(r) };
    case FrameType.PUBLISH: {
      const firstSeq = r.u32('first sequence');
      const encoded: Uint8Array[] = [];
      const messages = list(r, r.u16('count'), MIN_MESSAGE, () => {
        const start = r.position;
        const message = readMessage(r, true);
        encoded.push(r.since(start));
        return message;
      });
      return { type, firstSeq, messages, encoded };
    }
    case FrameType.CONFIRM:
      return { type, firstSeq: r.u32('first sequence'), count: r.u32('count') };
    case FrameType.PUBLISH_FAILED:
      return { type, seq: r.u32('sequence'), error: readError(r) };
    case FrameType.SUBSCRIBE: {
      const consumer = r.u32('consumer');
      const subject = r.str('subject');
      const group = r.str('group');
      const flags = r.u8('flags');
      const maxInFlight = r.u32('max in flight');
      const ackWait = r.u32('ack wait');
      const from = readDeliverFrom(r, flags);
      return {
        type,
        consumer,
        subject,
        group,
        durable: (flags & DURABLE) !== 0,
        deliverAll: (flags & DELIVER_ALL) !== 0,
        maxInFlight,
        ackWait,
        ...(from ? { from } : {}),
      };
    }
    case FrameType.SUBSCRIBED:
    case FrameType.UNSUBSCRIBED:
      return { type, consumer: r.u32('consumer') };
    case FrameType.DELIVER: {
      const consumer = r.u32('consumer');
      const deliveries = list<DeliveredMessage>(r, r.u16('count'), 6 + MIN_MESSAGE, () => ({
        token: r.u32('token'),
        attempt: r.u16('attempt'),
        message: readMessage(r),
      }));
      return { type, consumer, deliveries };
    }
    case FrameType.SETTLE:
      return { type, settlements: list(r, r.u16('count'), 9, () => readSettlement(r)) };
    case FrameType.UNSUBSCRIBE:
      return { type, consumer: r.u32('consumer'), close: r.u8('close') === 1 };
    case FrameType.REQUEST:
      return { type, request: r.u32('request'), timeout: r.u32('timeout'), message: readMessage(r) };
    case FrameType.REPLY:
      return { type, request: r.u32('request'), reply: readReply(r) };
    case FrameType.SERVE:
      return { type, responder: r.u32('responder'), subject: r.str('subject') };
    case FrameType.SERVING:
    case FrameType.UNSERVE:
      return { type, responder: r.u32('responder') };
    case FrameType.INCOMING:
      return { type, responder: r.u32('responder'), call: r.u32('call'), message: readMessage(r) };
    case FrameType.RESPOND:
      return { type, call: r.u32('call'), reply: readReply(r) };
    case FrameType.DEAD_LETTERS: {
      const op = r.u32('op');
      const action = r.u8('action');
      if (action !== DeadLetterOp.LIST && action !== DeadLetterOp.REPLAY && action !== DeadLetterOp.PURGE) {
        throw new CourierError('PROTOCOL_ERROR', `unknown dead-letter action ${action}`);
      }
      const group = r.str('group');
      const limit = r.u32('limit');
      const cursor = r.u32('cursor');
      const ids = r.u8('has ids') === 1 ? list(r, r.u32('id count'), 2, () => r.str('id')) : undefined;
      return { type, op, action, group, limit, cursor, ids };
    }
    case FrameType.DEAD_LETTERS_RESULT: {
      const op = r.u32('op');
      const count = r.u32('count');
      const next = r.u32('next');
      return {
        type,
        op,
        count,
        next,
        entries: list(r, r.u32('entry count'), 16 + MIN_MESSAGE, () => readDeadLetter(r)),
      };
    }
    default:
      throw new CourierError('PROTOCOL_ERROR', `unknown frame type 0x${type.toString(16)}`);
  }
}
