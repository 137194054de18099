/**
 * Dead letters on ActiveMQ: one queue per group, `courier.dlq.<group>`, whose
 * messages are copies of the failed ones with the error, the subscription's
 * pattern and the attempts in `courier_*` headers. `list` browses the queue
 * (ActiveMQ's STOMP `browser:true`, which consumes nothing). `replay` and
 * `purge` first browse to count what they will take, then consume exactly
 * that (with a JMS selector on `courier_id` when ids are given); a replay
 * sends each back to the group's consumer queue in the same transaction as
 * its ack, so it is never lost nor doubled. A browse sees one page of the
 * queue (ActiveMQ's `maxBrowsePageSize`, 400 by default): `list` and
 * `replay` work on that page, `purge` repeats until the queue is empty.
 */
import { type DeadLetter, type DeadLetterStore, deadLetterFromHeaders } from '@courier/core';
import type { StompFrame } from './frame.js';
import { copyMessageHeaders, DeadLetterHeader, frameMessage, H } from './message-frames.js';
import { consumerQueue, deadLetterQueue } from './names.js';
import type { StompConnection } from './stomp-connection.js';

let subscriptionSeq = 0;

function deadLetter(frame: StompFrame, group: string): DeadLetter {
  const h = frame.headers;
  const message = frameMessage(frame, h[H.subject] ?? '');
  return {
    message,
    ...deadLetterFromHeaders((name) => h[name], DeadLetterHeader, {
      group,
      pattern: message.subject,
      time: Number(h['timestamp'] ?? 0) || 0,
      attempts: 1,
    }),
  };
}

function selector(ids: readonly string[] | undefined): Record<string, string> {
  if (ids === undefined) return {};
  const list = ids.map((id) => `'${id.replaceAll("'", "''")}'`).join(',');
  return { selector: `${H.id} IN (${list})` };
}

/**
 * Reads the frames of a new subscription until `done` says stop or `ms` pass
 * without one; `then` runs before the subscription ends (acks must reach the
 * broker while it still exists).
 */
async function drain(
  connection: StompConnection,
  headers: Record<string, string>,
  done: (frame: StompFrame, count: number) => boolean,
  ms: number,
  then: (frames: StompFrame[]) => Promise<void> = async () => undefined,
): Promise<StompFrame[]> {
  const id = `dl${++subscriptionSeq}`;
  const frames: StompFrame[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let timer = setTimeout(finish, ms);
  connection.route(id, (frame) => {
    clearTimeout(timer);
    if (done(frame, frames.length)) finish();
    else {
      frames.push(frame);
      if (done(frame, frames.length)) finish();
      else timer = setTimeout(finish, ms);
    }
  });
  try {
    await connection.call('SUBSCRIBE', { id, ...headers });
    await Promise.race([finished, new Promise<never>((_, reject) => connection.onClose(reject))]);
    clearTimeout(timer);
    connection.route(id, undefined);
    await then(frames);
  } finally {
    clearTimeout(timer);
    connection.route(id, undefined);
    if (!connection.closed) await connection.call('UNSUBSCRIBE', { id }).catch(() => undefined);
  }
  return frames;
}

/** The dead-letter store over a connection the transport provides (waiting for a reconnect if needed). */
export function deadLetterStore(connection: () => Promise<StompConnection>): DeadLetterStore {
  const browse = async (group: string, ids?: readonly string[]): Promise<StompFrame[]> => {
    const c = await connection();
    return drain(
      c,
      { destination: deadLetterQueue(group), browser: 'true', ack: 'auto', ...selector(ids) },
      (frame) => frame.headers['browser'] === 'end',
      10_000,
    );
  };

  /** Consumes `count` dead letters of a group and does `each` with them in one transaction per batch. */
  const take = async (
    group: string,
    ids: readonly string[] | undefined,
    move:
      | ((frame: StompFrame) => { destination: string; headers: Record<string, string> } | undefined)
      | undefined,
  ): Promise<number> => {
    const found = await browse(group, ids);
    const wanted = found.filter((f) => (move ? move(f) !== undefined : true)).length;
    if (wanted === 0) return 0;
    const c = await connection();
    let moved = 0;
    const commit = async (frames: StompFrame[]): Promise<void> => {
      const transaction = `dltx${++subscriptionSeq}`;
      c.send('BEGIN', { transaction });
      for (const frame of frames) {
        const target = move?.(frame);
        if (move && !target) continue; // kept: a private group's dead letter has nowhere to go
        if (target) {
          c.send(
            'SEND',
            { ...target.headers, destination: target.destination, persistent: 'true', transaction },
            frame.body,
          );
        }
        c.send('ACK', { id: frame.headers['ack'] ?? '', transaction });
        moved++;
      }
      await c.call('COMMIT', { transaction });
    };
    await drain(
      c,
      {
        destination: deadLetterQueue(group),
        ack: 'client-individual',
        'activemq.prefetchSize': String(found.length),
        ...selector(ids),
      },
      (_frame, count) => count >= found.length,
      2000,
      commit,
    );
    return moved;
  };

  return {
    list: async (group, options = {}) => {
      const entries = (await browse(group)).map((f) => deadLetter(f, group));
      return options.limit === undefined ? entries : entries.slice(0, options.limit);
    },
    replay: (group, ids) =>
      take(group, ids, (frame) => {
        const entry = deadLetter(frame, group);
        // Private subscriptions read a topic that only their own connection knows: keep theirs.
        if (entry.group.startsWith('_private.') || entry.pattern === '') return undefined;
        return { destination: consumerQueue(entry.group, entry.pattern), headers: copyMessageHeaders(frame) };
      }),
    purge: async (group, ids) => {
      // A browse sees at most one page (ActiveMQ's maxBrowsePageSize, 400 by default): purge page by page.
      let total = 0;
      for (let page = 0; page < 1000; page++) {
        const taken = await take(group, ids, undefined);
        total += taken;
        if (taken === 0 || ids !== undefined) break;
      }
      return total;
    },
  };
}
