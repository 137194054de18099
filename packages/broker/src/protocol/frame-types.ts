/**
 * The frames of the `courier://` wire protocol, as TypeScript types. The byte
 * layout of each is in docs/protocol.md; `frame-codec.ts` reads and writes
 * them.
 */
import type { DeadLetter, RawMessage, Reply, WireError } from '@courier/core';
import type { DeliverFrom } from './structures.js';

/**
 * Protocol versions this build speaks. Version 2 added the service version to
 * HELLO, the start position to SUBSCRIBE and paging to DEAD_LETTERS; a
 * version 1 client is refused with PROTOCOL_ERROR naming both ranges.
 */
export const PROTOCOL_VERSION = { min: 2, max: 2 } as const;

/** Frame type codes (the byte after the length). */
export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  PING: 0x03,
  PONG: 0x04,
  ERROR: 0x05,
  PUBLISH: 0x10,
  CONFIRM: 0x11,
  PUBLISH_FAILED: 0x12,
  SUBSCRIBE: 0x20,
  SUBSCRIBED: 0x21,
  DELIVER: 0x22,
  SETTLE: 0x23,
  UNSUBSCRIBE: 0x24,
  UNSUBSCRIBED: 0x25,
  REQUEST: 0x30,
  REPLY: 0x31,
  SERVE: 0x32,
  SERVING: 0x33,
  UNSERVE: 0x34,
  INCOMING: 0x35,
  RESPOND: 0x36,
  DEAD_LETTERS: 0x40,
  DEAD_LETTERS_RESULT: 0x41,
} as const;

/** A frame type code. */
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** How a delivery is settled. */
export const SettleKind = { ACK: 0, NACK: 1, DEAD: 2, TOUCH: 3 } as const;

/** One settlement inside a SETTLE frame. */
export type Settlement =
  | { kind: typeof SettleKind.ACK | typeof SettleKind.TOUCH; consumer: number; token: number }
  | { kind: typeof SettleKind.NACK; consumer: number; token: number; delay: number }
  | { kind: typeof SettleKind.DEAD; consumer: number; token: number; error: WireError };

/** A message handed to a consumer, with its delivery token and attempt. */
export interface DeliveredMessage {
  token: number;
  attempt: number;
  message: RawMessage;
}

/** Dead-letter operations. */
export const DeadLetterOp = { LIST: 0, REPLAY: 1, PURGE: 2 } as const;

/** Every frame, by type. */
export type Frame =
  | {
      type: typeof FrameType.HELLO;
      minVersion: number;
      maxVersion: number;
      token: string;
      service: string;
      instance: string;
      client: string;
      /** The service's own version (its release), empty when unknown. */
      version: string;
    }
  | {
      type: typeof FrameType.WELCOME;
      version: number;
      maxFrame: number;
      maxPayload: number;
      server: string;
      heartbeat: number;
    }
  | { type: typeof FrameType.PING | typeof FrameType.PONG; nonce: number }
  | { type: typeof FrameType.ERROR; ref: number; error: WireError }
  | {
      type: typeof FrameType.PUBLISH;
      firstSeq: number;
      messages: RawMessage[];
      /**
       * Set by the decoder: each message's structure as it came (views of the
       * frame's buffer, payloads too), so the broker stores it without encoding it again.
       */
      encoded?: Uint8Array[];
    }
  | { type: typeof FrameType.CONFIRM; firstSeq: number; count: number }
  | { type: typeof FrameType.PUBLISH_FAILED; seq: number; error: WireError }
  | {
      type: typeof FrameType.SUBSCRIBE;
      consumer: number;
      subject: string;
      group: string;
      durable: boolean;
      deliverAll: boolean;
      maxInFlight: number;
      ackWait: number;
      /** A new group's start at a sequence or time (flag bit 2 or 3 and an f64 after `ackWait`). */
      from?: DeliverFrom;
    }
  | { type: typeof FrameType.SUBSCRIBED | typeof FrameType.UNSUBSCRIBED; consumer: number }
  | { type: typeof FrameType.DELIVER; consumer: number; deliveries: DeliveredMessage[] }
  | { type: typeof FrameType.SETTLE; settlements: Settlement[] }
  | { type: typeof FrameType.UNSUBSCRIBE; consumer: number; close: boolean }
  | { type: typeof FrameType.REQUEST; request: number; timeout: number; message: RawMessage }
  | { type: typeof FrameType.REPLY; request: number; reply: Reply }
  | { type: typeof FrameType.SERVE; responder: number; subject: string }
  | { type: typeof FrameType.SERVING | typeof FrameType.UNSERVE; responder: number }
  | { type: typeof FrameType.INCOMING; responder: number; call: number; message: RawMessage }
  | { type: typeof FrameType.RESPOND; call: number; reply: Reply }
  | {
      type: typeof FrameType.DEAD_LETTERS;
      op: number;
      action: (typeof DeadLetterOp)[keyof typeof DeadLetterOp];
      group: string;
      /** LIST: at most this many entries in this answer; 0 = as many as one frame holds. */
      limit: number;
      /** LIST: where to start, the `next` of the previous page; 0 for the first page. */
      cursor: number;
      ids: string[] | undefined;
    }
  | {
      type: typeof FrameType.DEAD_LETTERS_RESULT;
      op: number;
      count: number;
      /** LIST: the cursor of the next page, 0 when this page is the last. */
      next: number;
      entries: DeadLetter[];
    };
