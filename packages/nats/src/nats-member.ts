/**
 * A member of a group: pulls from the group's consumer and its replay twin,
 * with credit. JetStream counts what it sent, not what the member still
 * holds, so the member asks only for what its credit allows
 * (`maxInFlight` minus held, buffered and already asked for) and keeps any
 * surplus (requests that outlived a reconnect, replays) in a small buffer,
 * telling the server it is still working on them, until credit frees.
 *
 * A group's consumer keeps the ack wait it was created with. When a member
 * asks for a longer one, the member itself extends what it holds until its
 * own ack wait has passed since the last `touch`, so handlers are not run
 * twice because another member created the group.
 */
import type { ConsumeOptions, Consumer, Delivery, WireError } from '@courier/core';
import { bounded } from '@courier/core/internal';
import type { ConsumerInfo } from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { type ConsumerSpec, deleteConsumer, ensureConsumer } from './consumers.js';
import { type NatsContext, sleep } from './context.js';
import { writeDeadLetter } from './dead-letters.js';
import { decodeEnvelope } from './envelope.js';
import { type DeliveryHost, NatsDelivery, parseAckSubject } from './nats-delivery.js';
import { PULL_HEARTBEAT, PullLoop } from './pull-loop.js';

const NAK = new TextEncoder().encode('-NAK');
const WIP = new TextEncoder().encode('+WPI');

interface Source {
  readonly spec: ConsumerSpec;
  readonly loop: PullLoop;
  readonly replay: boolean;
  recovering: boolean;
}

/** What a member is made of. */
export interface MemberOptions {
  readonly ctx: NatsContext;
  readonly consume: ConsumeOptions;
  readonly main: { spec: ConsumerSpec; info: ConsumerInfo };
  readonly replay: { spec: ConsumerSpec; info: ConsumerInfo };
  readonly onDelivery: (delivery: Delivery) => void;
  /** Called once the member is closed, to forget it. */
  readonly onClosed: () => void;
}

/** One member of a group on one connection. */
export class NatsMember implements Consumer, DeliveryHost {
  readonly nc: NatsConnection;
  readonly ackWait: number;
  readonly #ctx: NatsContext;
  readonly #options: MemberOptions;
  readonly #sources: Source[];
  readonly #held = new Set<NatsDelivery>();
  #buffer: Array<{ msg: Msg; source: Source }> = [];
  /** The shorter of the two consumers' ack waits, as the server applies it. */
  readonly #serverAckWait: number;
  readonly #threshold: number;
  readonly #timer: NodeJS.Timeout;
  readonly #abort = new AbortController();
  #refillQueued = false;
  #stopped = false;
  #closing: Promise<void> | undefined;

  constructor(options: MemberOptions) {
    this.#options = options;
    this.#ctx = options.ctx;
    this.nc = options.ctx.nc;
    this.ackWait = options.consume.ackWait;
    const serverAckWait = (info: ConsumerInfo): number => (info.config.ack_wait ?? 30e9) / 1e6;
    this.#serverAckWait = Math.min(serverAckWait(options.main.info), serverAckWait(options.replay.info));
    // Ask again once a quarter of the credit is free: fewer, larger pull requests under load.
    this.#threshold = Math.max(1, Math.floor(options.consume.maxInFlight / 4));
    this.#sources = [options.main, options.replay].map((part, i) => {
      const source: Source = {
        spec: part.spec,
        replay: i === 1,
        recovering: false,
        loop: new PullLoop(this.nc, part.spec.stream, part.spec.name, {
          message: (msg) => this.#receive(msg, source),
          changed: () => this.refill(),
          lost: () => void this.#recover(source),
        }),
      };
      return source;
    });
    const tick = Math.max(50, Math.min(PULL_HEARTBEAT, this.#serverAckWait / 2));
    this.#timer = setInterval(() => this.#tick(), tick);
    this.#timer.unref();
  }

  /** Opens the inboxes and asks for the first messages. */
  start(): void {
    for (const source of this.#sources) source.loop.start();
    this.refill();
  }

  /** After a reconnect the server may have dropped our pull requests: ask again. */
  reconnected(): void {
    for (const source of this.#sources) source.loop.reset();
    this.refill();
  }

  settled(delivery: NatsDelivery): void {
    this.#held.delete(delivery);
    this.refill();
  }

  async deadLetter(delivery: NatsDelivery, error: WireError): Promise<void> {
    await writeDeadLetter(
      this.#ctx,
      {
        message: delivery.message,
        group: this.#options.consume.group,
        pattern: this.#options.consume.subject,
        error,
        attempts: delivery.attempt,
      },
      { stream: delivery.info.stream, consumer: delivery.info.consumer, streamSeq: delivery.info.streamSeq },
    );
  }

  /** Asks for as many messages as the credit allows (coalesced to one request per turn). */
  refill(): void {
    if (this.#refillQueued || this.#stopped) return;
    this.#refillQueued = true;
    queueMicrotask(() => {
      this.#refillQueued = false;
      if (this.#stopped) return;
      this.#handOutBuffered();
      const [main, replay] = this.#sources as [Source, Source];
      const free =
        this.#options.consume.maxInFlight - this.#held.size - this.#buffer.length - main.loop.outstanding;
      if (!main.recovering && free > 0 && (free >= this.#threshold || main.loop.outstanding === 0))
        main.loop.pull(free);
      // Replays are rare: one standing request; a replay beyond the credit waits in the buffer.
      if (!replay.recovering && replay.loop.outstanding === 0) replay.loop.pull(1);
    });
  }

  #receive(msg: Msg, source: Source): void {
    if (this.#stopped) {
      this.#send(msg.reply, NAK);
      return;
    }
    if (this.#held.size < this.#options.consume.maxInFlight) this.#handOut(msg, source);
    else this.#buffer.push({ msg, source });
  }

  #handOutBuffered(): void {
    while (!this.#stopped && this.#buffer.length > 0 && this.#held.size < this.#options.consume.maxInFlight) {
      const next = this.#buffer.shift() as { msg: Msg; source: Source };
      this.#handOut(next.msg, next.source);
    }
  }

  #handOut(msg: Msg, source: Source): void {
    const reply = msg.reply as string;
    const info = parseAckSubject(reply);
    if (!info) return; // not a JetStream delivery: nothing to settle
    const prefix = `${this.#ctx.space.events}.`;
    const message = decodeEnvelope(msg.headers, msg.data, {
      ...(source.replay
        ? {}
        : { subject: msg.subject.startsWith(prefix) ? msg.subject.slice(prefix.length) : msg.subject }),
      fallbackId: `${info.stream}:${info.streamSeq}`,
      storedAt: info.storedAt,
    });
    const delivery = new NatsDelivery({ message, info, reply, host: this });
    this.#held.add(delivery);
    try {
      this.#options.onDelivery(delivery);
    } catch {
      // The handler side failed synchronously; the delivery stays held until it is settled or released.
    }
  }

  #send(reply: string | undefined, body: Uint8Array): void {
    if (!reply) return;
    try {
      this.nc.publish(reply, body);
    } catch {
      // closed: the server redelivers after its ack wait
    }
  }

  #tick(): void {
    const now = Date.now();
    for (const { msg } of this.#buffer) this.#send(msg.reply, WIP);
    if (this.#serverAckWait < this.ackWait) {
      for (const delivery of this.#held) if (now < delivery.keepUntil) delivery.working();
    }
    for (const source of this.#sources) source.loop.check(now);
  }

  /** Brings a vanished consumer back (same configuration), then asks again. */
  async #recover(source: Source): Promise<void> {
    if (source.recovering || this.#stopped) return;
    source.recovering = true;
    let pause = 100;
    while (!this.#stopped) {
      try {
        await ensureConsumer(this.#ctx, source.spec);
        break;
      } catch {
        await sleep(pause, this.#abort.signal);
        pause = Math.min(pause * 2, 5000);
      }
    }
    source.recovering = false;
    source.loop.reset();
    this.refill();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    await Promise.all(this.#sources.map((source) => source.loop.drain()));
    for (const { msg } of this.#buffer.splice(0)) this.#send(msg.reply, NAK);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.stop();
    clearInterval(this.#timer);
    for (const delivery of this.#held) delivery.release();
    this.#held.clear();
    // Acks and naks are fire-and-forget: make sure the server has them before the member is gone.
    if (!this.nc.isClosed()) await bounded(this.nc.flush(), 2000, undefined);
    if (!this.#options.consume.durable) {
      await Promise.all(
        this.#sources.map((source) =>
          bounded(deleteConsumer(this.#ctx, source.spec.stream, source.spec.name), 2000, undefined),
        ),
      );
    }
    this.#options.onClosed();
  }
}
