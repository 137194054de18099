/**
 * What every part of the NATS transport shares: the connection, the
 * JetStream clients, the resolved options and the names of the
 * deployment's subjects and streams.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { SubjectSpace } from './names.js';
import type { ResolvedOptions } from './options.js';
import type { StreamNames } from './streams.js';

/** The shared state of one transport. */
export interface NatsContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly options: ResolvedOptions;
  readonly space: SubjectSpace;
  readonly streams: StreamNames;
  /** The server's `max_payload`: payload plus headers, in bytes. */
  readonly serverMaxPayload: number;
  /** True once the transport is closing. */
  readonly closed: () => boolean;
  /**
   * Calls `listener` at each reconnect of the client (a request sent before
   * it may have lost its reply) until the returned function is called.
   */
  readonly onReconnect: (listener: () => void) => () => void;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
