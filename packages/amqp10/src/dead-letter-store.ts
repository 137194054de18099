/**
 * Dead letters in a queue per group, read and written over AMQP 1.0. AMQP
 * 1.0 has no way to browse a queue on these brokers, so `list`, `replay`
 * and `purge` take the whole queue (until a marker message sent first comes
 * back: RabbitMQ 3.x ends the session on the AMQP drain flag, and the Proton
 * example broker ignores it), act on
 * the selected entries, and give the rest back: `released` where the broker
 * holds them (RabbitMQ puts them back in place), re-sent where it sent them
 * pre-settled. Operations on one group are serialised inside a transport.
 */
import { randomUUID } from 'node:crypto';
import { CourierError, type DeadLetter, type DeadLetterStore } from '@courier/core';
import type { AmqpConnection } from './amqp-connection.js';
import { type Decoded, fromAmqp, markerMessage, toAmqp } from './amqp-message.js';
import type { BrokerProfile } from './broker-profile.js';
import { linkError, type RheaDelivery } from './rhea-types.js';

interface Taken {
  readonly decoded: Decoded;
  readonly delivery: RheaDelivery;
  readonly entry: DeadLetter;
}

/** Options of {@link amqpDeadLetterStore}. */
export interface DeadLetterStoreSettings {
  readonly connection: AmqpConnection;
  readonly profile: BrokerProfile;
  /** How long to wait for a queue's end. */
  readonly timeout: number;
}

/** The dead-letter store of one transport. */
export function amqpDeadLetterStore(settings: DeadLetterStoreSettings): DeadLetterStore {
  const { connection, profile } = settings;
  const queues = new Map<string, Promise<unknown>>();

  function serial<T>(group: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(group) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    queues.set(group, tail);
    void tail.then(() => {
      if (queues.get(group) === tail) queues.delete(group);
    });
    return next;
  }

  /** Takes every message in the group's dead-letter queue; the caller settles each. */
  async function takeAll(group: string): Promise<{ taken: Taken[]; close(): Promise<Taken[]> }> {
    const address = profile.deadLetterAddress(group);
    const marker = `marker-${randomUUID()}`;
    await connection.send(address, markerMessage(marker));
    const taken: Taken[] = [];
    // Arrivals after the marker: the broker handing back what we released, or more credit spent.
    const late: Taken[] = [];
    let finished = false;
    const receiver = connection.openReceiver({
      source: { address },
      autoaccept: false,
      autosettle: true,
      credit_window: 0,
    });
    const link = receiver.link;
    /** Ends the session; returns what arrived pre-settled after the end, which the caller must send back. */
    const close = async (): Promise<Taken[]> => {
      finished = true;
      await receiver.close();
      return late.filter((t) => t.delivery.remote_settled);
    };
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new CourierError(
                'TIMEOUT',
                `the dead-letter queue of ${group} did not reach its end within ${settings.timeout} ms`,
              ),
            ),
          settings.timeout,
        );
        const done = (): void => {
          clearTimeout(timer);
          finished = true;
          resolve();
        };
        link.on('receiver_open', () => link.add_credit?.(100));
        link.on('receiver_error', (context) => {
          clearTimeout(timer);
          reject(linkError(context.error, `cannot read the dead letters of ${group}`));
        });
        link.on('message', (context) => {
          if (!context.message || !context.delivery) return;
          // Pre-settled: settle our side at once, or rhea's session window never reopens.
          if (context.delivery.remote_settled) context.delivery.update(true);
          const decoded = fromAmqp(context.message, group);
          if (decoded.marker !== undefined) {
            if (!context.delivery.remote_settled) context.delivery.accept();
            if (decoded.marker === marker) done();
            return;
          }
          link.add_credit?.(1);
          const dead = decoded.deadLetter;
          (finished ? late : taken).push({
            decoded,
            delivery: context.delivery,
            entry: {
              message: decoded.message,
              group: dead?.group ?? group,
              pattern: dead?.pattern ?? decoded.message.subject,
              error: dead?.error ?? {
                code: 'INTERNAL',
                message: 'a message in the dead-letter queue without Courier dead-letter details',
                retryable: false,
              },
              attempts: dead?.attempts ?? 0,
              time: dead?.time ?? decoded.message.time,
            },
          });
        });
      });
    } catch (error) {
      release(taken);
      await resend(address, [...taken, ...(await close())]);
      throw error;
    }
    return { taken, close };
  }

  /** Gives back what the broker still holds (before the session ends). */
  function release(taken: readonly Taken[]): void {
    for (const t of taken) if (!t.delivery.remote_settled) t.delivery.release();
  }

  /** Sends back what the broker sent pre-settled (after the session ended, so it does not come straight back). */
  async function resend(address: string, taken: readonly Taken[]): Promise<void> {
    for (const t of taken) {
      if (!t.delivery.remote_settled) continue;
      await connection.send(
        address,
        toAmqp(t.decoded.message, {
          ...(t.decoded.deadLetter ? { deadLetter: t.decoded.deadLetter } : {}),
        }),
      );
    }
  }

  function selects(ids: readonly string[] | undefined): (t: Taken) => boolean {
    const wanted = ids === undefined ? undefined : new Set(ids);
    return (t) => wanted === undefined || wanted.has(t.entry.message.id);
  }

  /** Takes the queue, lets `act` settle the chosen entries, gives the rest back; returns how many were chosen. */
  function operate(
    group: string,
    ids: readonly string[] | undefined,
    act: (t: Taken) => Promise<void>,
  ): Promise<number> {
    return serial(group, async () => {
      const { taken, close } = await takeAll(group);
      const chosen = taken.filter(selects(ids));
      const rest = taken.filter((t) => !chosen.includes(t));
      let done = 0;
      try {
        for (const t of chosen) {
          try {
            await act(t);
            if (!t.delivery.remote_settled) t.delivery.accept();
            done++;
          } catch {
            rest.push(t);
          }
        }
      } finally {
        release(rest);
        await resend(profile.deadLetterAddress(group), [...rest, ...(await close())]);
      }
      return done;
    });
  }

  return {
    list: (group, options = {}) =>
      serial(group, async () => {
        const { taken, close } = await takeAll(group);
        release(taken);
        await resend(profile.deadLetterAddress(group), [...taken, ...(await close())]);
        const entries = taken.map((t) => t.entry);
        return options.limit === undefined ? entries : entries.slice(0, options.limit);
      }),
    replay: (group, ids) =>
      operate(group, ids, async (t) => {
        // The Bus names private subscriptions' groups `_private.<service>.<id>`; those queues are not durable.
        const durable = !t.entry.group.startsWith('_private.');
        const queue = profile.groupQueue(t.entry.group, t.entry.pattern, durable);
        // Attempts count afresh: the copy goes back to the group without its history.
        await connection.send(profile.targetAddress(queue), toAmqp(t.entry.message));
      }),
    purge: (group, ids) => operate(group, ids, async () => undefined),
  };
}
