/**
 * A connection's deliveries on their way out. Deliveries of one turn are
 * gathered and leave as few DELIVER frames as fit (one per consumer and
 * about 1 MiB), each message as the bytes it is stored as when the engine
 * read it from its log (`storedForm`), not encoded again. While the
 * connection's output is congested (the client reads slower than its
 * consumers get messages), deliveries wait here as the engine's objects,
 * not encoded into the socket's buffer; their number is bounded by each
 * consumer's credit (max in flight), and their bytes are counted for the
 * connection's stats. They leave, in order, as the output drains.
 */
import type { Delivery } from '@courier/core';
import { storedForm } from '../engine/records.js';
import type { FrameOutput } from '../protocol/frame-output.js';
import { FrameType } from '../protocol/frame-types.js';
import { messageWireSize, writeMessage } from '../protocol/structures.js';
import type { WireWriter } from '../protocol/wire-writer.js';

interface Waiting {
  consumer: number;
  token: number;
  delivery: Delivery;
  bytes: number;
}

/** Bytes of a DELIVER frame after which the next delivery starts another (a larger one goes alone). */
const FRAME_BYTES = 1024 * 1024;
/** Bytes gathered after which they are encoded at once, so the output's congestion counts them. */
const GATHER_BYTES = 256 * 1024;
/** Frame length, type, consumer and count. */
const DELIVER_HEADER = 4 + 1 + 4 + 2;
/** Token and attempt before each message. */
const ITEM_HEADER = 4 + 2;

/** See the module comment. */
export class DeliveryOutbox {
  readonly #out: FrameOutput;
  readonly #live: (consumer: number, token: number) => boolean;
  #waiting: Waiting[] = [];
  #bytes = 0;
  #batch: Waiting[] = [];
  #batchBytes = 0;
  #scheduled = false;

  /** `live` says whether a waiting delivery is still the connection's (its consumer open, not taken back). */
  constructor(options: { out: FrameOutput; live: (consumer: number, token: number) => boolean }) {
    this.#out = options.out;
    this.#live = options.live;
  }

  /** The wire bytes of the deliveries waiting or gathered. */
  get bytes(): number {
    return this.#bytes + this.#batchBytes;
  }

  /** Sends a delivery with the others of this turn, or queues it behind others while the output is congested. */
  deliver(consumer: number, token: number, delivery: Delivery): void {
    const bytes = storedForm(delivery.message)?.byteLength ?? messageWireSize(delivery.message);
    if (this.#waiting.length === 0 && !this.#out.congested) {
      this.#gather({ consumer, token, delivery, bytes });
      return;
    }
    this.#waiting.push({ consumer, token, delivery, bytes });
    this.#bytes += bytes;
  }

  /** Sends waiting deliveries until the output is congested again. */
  drain(): void {
    let taken = 0;
    while (taken < this.#waiting.length && !this.#out.congested) {
      const w = this.#waiting[taken++] as Waiting;
      this.#bytes -= w.bytes;
      if (this.#live(w.consumer, w.token)) this.#gather(w);
    }
    if (taken > 0) this.#waiting = this.#waiting.slice(taken);
    this.#flush();
  }

  /** Forgets every waiting delivery (the connection is gone; the engine takes them back). */
  clear(): void {
    this.#waiting = [];
    this.#bytes = 0;
    this.#batch = [];
    this.#batchBytes = 0;
  }

  #gather(item: Waiting): void {
    this.#batch.push(item);
    this.#batchBytes += item.bytes;
    if (this.#batchBytes >= GATHER_BYTES) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      // After the microtasks that hand out the rest of this dispatch pass.
      queueMicrotask(this.#flushSoon);
    }
  }

  readonly #flushSoon = (): void => {
    this.#scheduled = false;
    this.#flush();
  };

  /** Encodes what was gathered: runs of one consumer's deliveries, cut at about {@link FRAME_BYTES}. */
  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#out.sendWith((w) => {
      let from = 0;
      while (from < batch.length) {
        const consumer = (batch[from] as Waiting).consumer;
        let to = from + 1;
        let size = DELIVER_HEADER + ITEM_HEADER + (batch[from] as Waiting).bytes;
        while (to < batch.length && to - from < 0xffff) {
          const next = batch[to] as Waiting;
          if (next.consumer !== consumer || size + ITEM_HEADER + next.bytes > FRAME_BYTES) break;
          size += ITEM_HEADER + next.bytes;
          to++;
        }
        writeDeliver(w, consumer, batch, from, to);
        from = to;
      }
    });
  }
}

/** One DELIVER frame (docs/protocol.md) of `items[from..to)`, all of `consumer`. */
function writeDeliver(
  w: WireWriter,
  consumer: number,
  items: readonly Waiting[],
  from: number,
  to: number,
): void {
  w.beginFrame(FrameType.DELIVER);
  w.u32(consumer);
  w.u16(to - from);
  for (let i = from; i < to; i++) {
    const { token, delivery } = items[i] as Waiting;
    w.u32(token);
    w.u16(delivery.attempt);
    const stored = storedForm(delivery.message);
    if (stored) w.raw(stored);
    else writeMessage(w, delivery.message);
  }
  w.endFrame();
}
