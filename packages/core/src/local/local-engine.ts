/**
 * What an engine running in this process offers its connections: the memory
 * engine, and the broker's engine when embedded. `LocalTransport` turns one
 * into a `Transport`.
 */
import type { RawMessage } from '../message.js';
import type { ConsumeOptions, DeadLetterStore, Delivery } from '../transport.js';
import type { ResponderTable } from './responder-table.js';

/** A member attached to a group, as the engine sees it. */
export interface GroupMember {
  readonly maxInFlight: number;
  readonly ackWait: number;
  /** Whether nack delays are honoured (the transport may declare `nackDelay: false`). */
  readonly nackDelay: boolean;
  /**
   * How long a delivery whose ack wait ran out, the `attempt`th, waits before
   * the group offers it again (a server-side backoff); offered at once without.
   */
  redeliveryDelay?(attempt: number): number;
  inFlight: number;
  stopped: boolean;
  deliver(delivery: Delivery): void;
}

/** How a local transport attaches a member; the flags follow the transport's declared capabilities. */
export interface AttachOptions extends ConsumeOptions {
  /** Hold messages until their `deliverAt`. */
  schedule: boolean;
  /** One message per key at a time, in order. */
  orderKeys: boolean;
}

/** A member's place in a group, to leave it by. */
export interface Attachment {
  /** Takes the member out; its unsettled deliveries go back to the group. */
  detach(): void;
}

/** An engine in this process. */
export interface LocalEngine {
  /** The engine's name in errors and capabilities: `memory`, `embedded`. */
  readonly name: string;
  /** Whether accepted messages survive a restart of the engine. */
  readonly durable: boolean;
  readonly maxPayload: number;
  /** Stores a message and offers it to every group; resolves once it is stored. */
  publish(message: RawMessage, options: { dedup: boolean }): Promise<void>;
  /** Adds a member to its group, creating the group on first use; resolves once the member is attached. */
  attach(options: AttachOptions, member: GroupMember): Promise<Attachment>;
  readonly responders: ResponderTable;
  readonly deadLetters: DeadLetterStore;
}
