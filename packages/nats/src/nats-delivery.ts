/**
 * One delivery of a JetStream message to a member, settled through the
 * JetStream ack protocol on the message's reply subject: `+ACK`, `-NAK`
 * (with a delay for retries), `+WPI` (work in progress) to restart the ack-wait clock. Acks are
 * published without waiting for the server; the client queues them while it
 * reconnects, and a lost one only means a redelivery (at least once).
 */
import type { Delivery, RawMessage, WireError } from '@courier/core';
import type { NatsConnection } from '@nats-io/nats-core';

/** What a JetStream ack subject says about a delivered message. */
export interface AckInfo {
  readonly stream: string;
  readonly consumer: string;
  /** How many times the consumer delivered it, this time included. */
  readonly delivered: number;
  readonly streamSeq: number;
  /** When the stream stored it, in milliseconds since the epoch. */
  readonly storedAt: number;
}

/**
 * Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>`
 * and the newer form with a domain and an account hash after `ACK`.
 */
export function parseAckSubject(reply: string): AckInfo | undefined {
  const tokens = reply.split('.');
  if (tokens[0] !== '$JS' || tokens[1] !== 'ACK') return undefined;
  const at = tokens.length === 9 ? 2 : tokens.length >= 11 ? 4 : -1;
  if (at < 0) return undefined;
  const delivered = Number(tokens[at + 2]);
  const streamSeq = Number(tokens[at + 3]);
  let storedAt = Date.now();
  try {
    storedAt = Number(BigInt(tokens[at + 5] as string) / 1_000_000n);
  } catch {
    // keep now: a malformed timestamp must not lose the message
  }
  if (!Number.isSafeInteger(delivered) || !Number.isSafeInteger(streamSeq)) return undefined;
  return { stream: tokens[at] as string, consumer: tokens[at + 1] as string, delivered, streamSeq, storedAt };
}

const ACK = new TextEncoder().encode('+ACK');
const NAK = new TextEncoder().encode('-NAK');
const WIP = new TextEncoder().encode('+WPI');

/** What a delivery needs from its member. */
export interface DeliveryHost {
  readonly nc: NatsConnection;
  /** The member's ack wait, in ms: how long it may hold a delivery without touching it. */
  readonly ackWait: number;
  /** The delivery was settled (or given up): free its credit. */
  settled(delivery: NatsDelivery): void;
  /** Writes the message to the group's dead letters. */
  deadLetter(delivery: NatsDelivery, error: WireError): Promise<void>;
}

/** A JetStream message handed to a member. */
export class NatsDelivery implements Delivery {
  readonly message: RawMessage;
  readonly attempt: number;
  readonly info: AckInfo;
  readonly #reply: string;
  readonly #host: DeliveryHost;
  #settled = false;
  /** Until when the member wants the message kept (the last touch plus its ack wait). */
  keepUntil: number;

  constructor(options: { message: RawMessage; info: AckInfo; reply: string; host: DeliveryHost }) {
    this.message = options.message;
    this.info = options.info;
    this.attempt = options.info.delivered;
    this.#reply = options.reply;
    this.#host = options.host;
    this.keepUntil = Date.now() + options.host.ackWait;
  }

  get settled(): boolean {
    return this.#settled;
  }

  #send(body: Uint8Array): void {
    try {
      this.#host.nc.publish(this.#reply, body);
    } catch {
      // Closed connection: the server redelivers after its ack wait.
    }
  }

  /** Marks it settled; false if it already was (a second settle is a no-op). */
  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#host.settled(this);
    return true;
  }

  async ack(): Promise<void> {
    if (this.#finish()) this.#send(ACK);
  }

  async nack(delay: number): Promise<void> {
    if (!this.#finish()) return;
    const ms = Math.max(0, Math.round(delay));
    this.#send(
      ms === 0 ? NAK : new TextEncoder().encode(`-NAK ${JSON.stringify({ delay: ms * 1_000_000 })}`),
    );
  }

  async deadLetter(error: WireError): Promise<void> {
    if (this.#settled) return;
    try {
      await this.#host.deadLetter(this, error);
    } catch (cause) {
      // Not written: give the message back to the server's ack wait rather than hold its credit.
      this.#finish();
      throw cause;
    }
    await this.ack();
  }

  touch(): void {
    if (this.#settled) return;
    this.keepUntil = Date.now() + this.#host.ackWait;
    this.#send(WIP);
  }

  /** Restarts the server's ack-wait clock without changing what the member asked for. */
  working(): void {
    if (!this.#settled) this.#send(WIP);
  }

  /** Gives it back to the group at once (member closing). */
  release(): void {
    this.#settled = true;
    this.#send(NAK);
  }
}
