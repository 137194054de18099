/**
 * What a group member gets from its transport: the client library, the
 * configuration and timings, and the few operations that go through the
 * transport's producer (topics, retry copies, dead letters). The member
 * and its deliveries (see `deliveries.ts`) depend on this and nothing else
 * of the transport.
 */
import type { WireError } from '@courier/core';
import type { Kafka } from './native.js';
import type { IncomingRecord } from './record.js';

/** What a member needs from its transport. */
export interface MemberContext {
  readonly kafka: Kafka;
  readonly config: Record<string, string | number | boolean>;
  readonly topicPrefix: string;
  readonly metadataRefresh: number;
  readonly revokeWait: number;
  /** The longest `consume` waits for this member's first partitions. */
  readonly joinWait: number;
  /** Makes sure a topic exists (a metadata request, which creates it where the cluster allows). */
  ensureTopic(topic: string): Promise<void>;
  /** Produces a retry copy (attempts so far, due time) on the group's retry topic. */
  retry(topic: string, incoming: IncomingRecord, attempts: number, due: number): Promise<void>;
  /** Stores a dead letter. */
  deadLetter(entry: {
    incoming: IncomingRecord;
    group: string;
    pattern: string;
    error: WireError;
    attempts: number;
  }): Promise<void>;
  onError(error: unknown): void;
}
