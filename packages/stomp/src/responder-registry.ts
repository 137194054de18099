/**
 * Which request subjects have a responder right now, learnt from ActiveMQ's
 * consumer advisories (`ActiveMQ.Advisory.Consumer.Queue.courier.rpc.>`,
 * which carry each request queue's `consumerCount`). It lets `request` fail
 * with `NO_RESPONDERS` at once instead of waiting out its timeout.
 *
 * The advisories come over a connection of their own: a broker without the
 * JSON advisory transformation (ActiveMQ needs xstream and jettison on its
 * class path for it) drops the connection that asks, and the transport's main
 * connection must not be the one dropped. Without advisories the registry
 * says so (`available` false) and requests simply time out when nobody
 * answers.
 *
 * A new subscriber to an advisory topic is told about every consumer that
 * already exists, but after its receipt; so the registry counts as warm only
 * once the advisory of a probe consumer of its own has come back behind them.
 */
import { randomUUID } from 'node:crypto';
import { subjectMatcher } from '@courier/core';
import type { StompFrame } from './frame.js';
import { decodeSubject, RPC_PREFIX } from './names.js';
import type { StompConnection } from './stomp-connection.js';

const ADVISORY = `/topic/ActiveMQ.Advisory.Consumer.Queue.${RPC_PREFIX}`;

interface Entry {
  count: number;
  matches: (subject: string) => boolean;
}

/** The live view of responders, over its own connection. */
export class ResponderRegistry {
  readonly #open: () => Promise<StompConnection>;
  readonly #entries = new Map<string, Entry>();
  readonly #waiters = new Set<() => void>();
  #connection: StompConnection | undefined;
  #starting: Promise<boolean> | undefined;
  #available = true;
  #closed = false;
  /** Why advisories are not available, when they are not. */
  problem: string | undefined;

  constructor(open: () => Promise<StompConnection>) {
    this.#open = open;
  }

  /** Whether advisories work on this broker (true until shown otherwise). */
  get available(): boolean {
    return this.#available;
  }

  /** Connects and waits until the view is complete; resolves false when advisories are unavailable. */
  ready(): Promise<boolean> {
    if (this.#closed || !this.#available) return Promise.resolve(false);
    this.#starting ??= this.#start().catch(() => {
      this.#starting = undefined;
      return false;
    });
    return this.#starting;
  }

  /** True when some live responder's pattern matches `subject`. */
  has(subject: string): boolean {
    for (const entry of this.#entries.values()) if (entry.count > 0 && entry.matches(subject)) return true;
    return false;
  }

  /** Waits (at most `ms`) until a responder for exactly `pattern` is known. */
  async waitFor(pattern: string, ms: number): Promise<void> {
    if (!(await this.ready())) return;
    await this.#until(() => (this.#entries.get(pattern)?.count ?? 0) > 0, ms);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.disconnect(500);
  }

  async #start(): Promise<boolean> {
    this.#entries.clear();
    const connection = await this.#open();
    this.#connection = connection;
    const probe = `%probe-${randomUUID()}`;
    let probed = false;
    connection.route('advisory', (frame) => {
      if (this.#onAdvisory(frame, probe)) probed = true;
      this.#wake();
    });
    const lost = new Promise<false>((resolve) => {
      connection.onClose(() => {
        this.#entries.clear();
        this.#starting = undefined;
        if (!probed) {
          // Dropped as soon as it asked: this broker cannot send advisories over STOMP.
          this.#available = false;
          this.problem =
            'the broker dropped the connection that subscribed to consumer advisories (ActiveMQ needs xstream and jettison on its class path for transformation:jms-advisory-json); requests with no responder will time out instead of failing with NO_RESPONDERS';
        }
        this.#wake();
        resolve(false);
      });
    });
    const warm = (async () => {
      await connection.call('SUBSCRIBE', {
        id: 'advisory',
        destination: `${ADVISORY}>`,
        transformation: 'jms-advisory-json',
      });
      await connection.call('SUBSCRIBE', { id: 'probe', destination: `/queue/${RPC_PREFIX}${probe}` });
      await this.#until(() => probed, 5000);
      connection.send('UNSUBSCRIBE', { id: 'probe' });
      return true;
    })();
    return Promise.race([warm, lost]);
  }

  /** Records one advisory; returns true when it was the probe's. */
  #onAdvisory(frame: StompFrame, probe: string): boolean {
    const destination = frame.headers['destination'] ?? '';
    if (!destination.startsWith(ADVISORY)) return false;
    const name = destination.slice(ADVISORY.length);
    if (name === probe) return true;
    const pattern = decodeSubject(name);
    if (pattern === undefined) return false;
    const count = Number(frame.headers['consumerCount'] ?? 0);
    if (count > 0) this.#entries.set(pattern, { count, matches: subjectMatcher(pattern) });
    else this.#entries.delete(pattern);
    return false;
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  #until(done: () => boolean, ms: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done() && this.#available && !this.#closed) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        resolve();
      }, ms);
      this.#waiters.add(check);
    });
  }
}
