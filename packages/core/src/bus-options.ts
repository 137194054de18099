/**
 * The options a Bus takes: for the Bus itself, and for `publish`,
 * `subscribe` and `request`, with the defaults each one documents.
 */
import type { Codec, CodecName } from './codec.js';
import type { Duration } from './duration.js';
import type { Headers } from './message.js';
import type { Middleware } from './middleware/compose.js';
import type { MetricsOption } from './observability/bus-metrics.js';
import type { Logger } from './observability/message-log.js';
import type { RetryOptions } from './retry-policy.js';
import type { DeliverPolicy } from './transport.js';

/** Options of a Bus. */
export interface BusOptions {
  /** The service this process is; the `source` of what it publishes. Default `app`. */
  service?: string;
  /** This instance of the service. Default `<hostname>-<pid>`. */
  instance?: string;
  /** The codec for outgoing data. Default `json`; `Uint8Array` data always goes raw. */
  codec?: CodecName | Codec;
  /** Extra codecs, for content types beyond JSON, MessagePack, raw bytes and text. */
  codecs?: readonly Codec[];
  /** Middleware around every publish, request, consume and handle, outermost first. */
  middleware?: readonly Middleware[];
  /** Default request timeout. Default 5s. */
  requestTimeout?: Duration;
  /**
   * Called with errors that have no caller to reject (a failed ack, a
   * subscription that could not attach). `connect(url)` also hands it to the
   * transport it makes, for transports that report background errors (Redis
   * and Kafka: a connection lost and being retried). Default: the logger's
   * error level, else the console.
   */
  onError?: (error: unknown) => void;
  /**
   * A prom-client `Registry` (or `{ registry, maxSubjects }`) to register the
   * client metrics in; see docs/observability.md. Without it, no metrics.
   */
  metrics?: MetricsOption;
  /**
   * A pino-compatible logger for lines about messages (debug: publishes and
   * handled messages; warn: failures that will be retried; error: dead letters).
   */
  logger?: Logger;
}

/** Options of `publish`. */
export interface PublishOptions {
  /** The message id, the dedup key. Default: a new UUIDv7. */
  id?: string;
  /** Messages with the same key are handled one at a time, in publish order, inside each group. */
  key?: string;
  headers?: Headers;
  /** Not delivered before this much time has passed. */
  delay?: Duration;
  /** Not delivered before this time. */
  at?: Date | number;
  /** The codec for this message. */
  codec?: CodecName | Codec;
}

/** What a resolved publish returns. */
export interface PublishReceipt {
  id: string;
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /**
   * A durable group: every group gets each message once, and the members of
   * a group share the work. Without one, the subscription is private and
   * ends with `close()`.
   */
  group?: string;
  /** Handlers running at once in this member. Default 1. */
  concurrency?: number;
  /** Retries before the dead-letter queue. Default 5 attempts, exponential from 1s to 1m. */
  retry?: RetryOptions;
  /** Where a new group starts: `new` (default), `all` retained messages, `{ sequence }` or `{ time }` (see {@link DeliverPolicy}). An existing group resumes. */
  deliver?: DeliverPolicy;
  /** How long the engine waits for a settle before it redelivers; extended while the handler runs. Default 30s. */
  ackWait?: Duration;
}

/** Options of `request`. */
export interface RequestOptions {
  /** Default: the Bus's `requestTimeout`. */
  timeout?: Duration;
  headers?: Headers;
  codec?: CodecName | Codec;
}
