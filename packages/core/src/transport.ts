/**
 * The Transport SPI: the small interface every engine implements (memory,
 * our broker, NATS, RabbitMQ, Redis, Kafka, STOMP, AMQP 1.0), and the
 * capabilities it declares. The Bus sits on top: it encodes, validates,
 * retries and dead-letters, and fills the gaps a transport declares where it
 * can (see `Capabilities`). Transports never decode payloads or run schemas.
 */
import type { WireError } from './errors.js';
import type { Headers, RawMessage } from './message.js';

/**
 * What an engine can do. The Bus reads these to fill gaps or refuse with
 * `UNSUPPORTED` (naming the capability and the engine); the conformance suite
 * reads them to know what to expect.
 */
export interface Capabilities {
  /** A resolved publish survives a restart of the engine. */
  durable: boolean;
  /**
   * A new group with `deliver: 'all'` receives messages published before it
   * existed. Without it, `deliver: 'all'` is refused.
   */
  replay: boolean;
  /**
   * A new group can start at a stream sequence or a time
   * (`deliver: { sequence }` / `{ time }`). Engines that do not declare it
   * get those policies refused with `UNSUPPORTED`.
   */
  replayFrom?: boolean;
  /**
   * Messages with one key are handed to one member at a time, in publish
   * order, across all members of a group. Without it, the Bus orders keys
   * inside each subscription only (one process), not across members.
   */
  keyOrdering: boolean;
  /**
   * The engine holds messages with `deliverAt` until then. Without it, the
   * Bus defers early deliveries with `nack(remaining)`.
   */
  delay: boolean;
  /**
   * `nack(delay)` redelivers after the given delay. Without it, the engine
   * redelivers at once and the Bus waits out the backoff while holding the
   * message (the engine still owns it, so a crash loses nothing).
   */
  nackDelay: boolean;
  /** Messages whose id was accepted within the dedup window are not stored twice. Nothing can fill this. */
  dedup: boolean;
  /** `request` and `serve` work. Without it, request-reply is refused. */
  request: boolean;
  /** `deliveries.deadLetter` and the `deadLetters` store work. Without it, grouped subscriptions are refused. */
  deadLetter: boolean;
  /** The largest message the engine accepts, in bytes, as counted by `messageSize`. */
  maxPayload: number;
}

/** The names of the boolean capabilities. */
export type Capability = {
  [K in keyof Capabilities]-?: NonNullable<Capabilities[K]> extends boolean ? K : never;
}[keyof Capabilities];

/**
 * Where a new group starts. Existing durable groups always resume where they were.
 * `'new'`: messages published after it attaches; `'all'`: every message the
 * stream still holds; `{ sequence }`: from that stream sequence on (the
 * oldest held when it was dropped; nothing before the next one when it lies
 * ahead); `{ time }`: from the first message stored at or after that time
 * (a `Date` or ms since the epoch). The last two need `replayFrom`.
 */
export type DeliverPolicy = 'new' | 'all' | { sequence: number } | { time: Date | number };

/** A {@link DeliverPolicy} as transports get it: a time is in ms since the epoch. */
export type DeliverStart = 'new' | 'all' | { sequence: number } | { time: number };

/** What `consume` attaches to. */
export interface ConsumeOptions {
  /** A subject pattern (`*`, `>` allowed). */
  subject: string;
  /**
   * The group's name. Members with the same group and subject share the
   * work; each (group, subject) pair is one durable subscription.
   */
  group: string;
  /** Whether the group outlives its last member. Non-durable groups vanish with their last member. */
  durable: boolean;
  deliver: DeliverStart;
  /** Credit: the most unsettled deliveries this member holds at once. */
  maxInFlight: number;
  /**
   * Milliseconds after which an unsettled delivery goes back to the group,
   * unless `touch`ed. Engines whose liveness is the connection may also
   * release a dead member's deliveries at once.
   */
  ackWait: number;
}

/** One message handed to one member. Settle it exactly once: ack, nack or deadLetter. */
export interface Delivery {
  readonly message: RawMessage;
  /** How many times the engine has delivered this message to the group, this one included (1-based). */
  readonly attempt: number;
  /** Done: the group never sees it again. */
  ack(): Promise<void>;
  /** Failed: deliver again after `delay` ms (at once when the engine lacks `nackDelay`). */
  nack(delay: number): Promise<void>;
  /** Failed for good: move it to the group's dead letters with the error, and ack it. */
  deadLetter(error: WireError): Promise<void>;
  /** Still working: restart the ack-wait clock. */
  touch(): void;
}

/** A member attached by `consume`. */
export interface Consumer {
  /** Stops new deliveries; those already handed over can still be settled. Idempotent. */
  stop(): Promise<void>;
  /** Detaches the member; unsettled deliveries go back to the group for redelivery. Idempotent. */
  close(): Promise<void>;
}

/** A reply to a request: encoded data, or an error in wire form. */
export type Reply =
  | { ok: true; payload: Uint8Array; contentType: string; headers: Headers }
  | { ok: false; error: WireError };

/** A request handler registered with `serve`. */
export interface Responder {
  /** Stops taking requests. Requests already taken still get their replies. */
  close(): Promise<void>;
}

/** A message that exhausted its attempts, failed its schema or could not be decoded. */
export interface DeadLetter {
  message: RawMessage;
  group: string;
  /** The subject pattern of the subscription it came from; a replay goes back there. */
  pattern: string;
  error: WireError;
  /** Deliveries made before it was dead-lettered. */
  attempts: number;
  /** When it was dead-lettered, in milliseconds since the epoch. */
  time: number;
}

/** A group's dead letters. Selections by id; no ids means all of the group's. */
export interface DeadLetterStore {
  /** Oldest first. */
  list(group: string, options?: { limit?: number }): Promise<DeadLetter[]>;
  /** Delivers them again to the group (only that group), attempts counted afresh; returns how many. */
  replay(group: string, ids?: readonly string[]): Promise<number>;
  /** Deletes them; returns how many. */
  purge(group: string, ids?: readonly string[]): Promise<number>;
}

/**
 * A connection to an engine. Methods reject with `CourierError`s:
 * `CONNECTION_CLOSED` after `close`, `PAYLOAD_TOO_LARGE`, `NO_RESPONDERS`,
 * `TIMEOUT`, `UNSUPPORTED` for a capability it does not declare.
 *
 * Left out on purpose: encoding, schemas, retries and backoff (the Bus owns
 * them), and subjects validation (the Bus validates before calling).
 */
export interface Transport {
  /** The engine's name for messages and errors: `memory`, `courier`, `nats`... */
  readonly engine: string;
  readonly capabilities: Readonly<Capabilities>;
  /**
   * Resolves once the engine holds the message durably (for a durable
   * engine) and will deliver it to every matching group. Publishing the
   * same id again inside the dedup window resolves without storing it twice.
   */
  publish(message: RawMessage): Promise<void>;
  /**
   * Attaches a member of a group; deliveries arrive through `onDelivery`.
   * Resolves only once the member is attached, so that a message published
   * after that is delivered to it (for a new group with `deliver: 'new'`).
   */
  consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer>;
  /**
   * Sends a request to exactly one responder of its subject (least
   * outstanding requests first) and resolves with its reply. Rejects with
   * `NO_RESPONDERS` at once when none is registered and with `TIMEOUT` after
   * `timeout` ms; a reply that comes later is dropped.
   */
  request(message: RawMessage, options: { timeout: number }): Promise<Reply>;
  /** Registers a responder for a subject or pattern; resolves once requests can reach it. */
  serve(subject: string, handler: (request: RawMessage) => Promise<Reply>): Promise<Responder>;
  /** Present when `capabilities.deadLetter`. */
  readonly deadLetters?: DeadLetterStore | undefined;
  /** Closes the connection. Unsettled deliveries go back to their groups. Idempotent. */
  close(): Promise<void>;
}
