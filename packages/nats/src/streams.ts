/**
 * The three JetStream streams of a deployment, created on first use:
 *
 * - `<stream>` captures `<prefix>.>`: the events. Limits retention (kept
 *   until the configured age, bytes or count; by default kept), so that new
 *   groups can start from the beginning.
 * - `<stream>_DLQ` captures `<prefix>_dlq.>`: dead letters, one subject per
 *   group, never expired by Courier.
 * - `<stream>_REPLAY` captures `<prefix>_replay.>`: replayed dead letters on
 *   their way back to exactly one group. Work-queue retention: each is gone
 *   once its group acks it.
 */
import { CourierError } from '@courier/core';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { fromNatsError } from './errors.js';
import type { SubjectSpace } from './names.js';
import type { ResolvedOptions } from './options.js';

/** The names of a deployment's streams. */
export interface StreamNames {
  readonly events: string;
  readonly deadLetters: string;
  readonly replays: string;
}

/** The stream names for a main stream name. */
export function streamNames(stream: string): StreamNames {
  return { events: stream, deadLetters: `${stream}_DLQ`, replays: `${stream}_REPLAY` };
}

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}

/** Creates a stream unless it exists; checks that an existing one captures the subjects Courier needs. */
async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  const wanted = config.subjects?.[0] as string;
  let info = await jsm.streams.info(config.name).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw fromNatsError(error, `looking up the stream ${config.name}`);
  });
  if (!info) {
    info = await jsm.streams.add(config).catch(async (error: unknown) => {
      // Another connection may have created it at the same moment.
      const existing = await jsm.streams.info(config.name).catch(() => undefined);
      if (existing) return existing;
      throw fromNatsError(error, `creating the stream ${config.name} for ${wanted}`);
    });
  }
  const subjects = info.config.subjects ?? [];
  if (!subjects.includes(wanted) && !subjects.includes('>')) {
    throw new CourierError(
      'INVALID_OPTION',
      `the JetStream stream ${config.name} exists with subjects ${JSON.stringify(subjects)} and does not capture ${wanted}; choose another stream name or prefix, or add ${wanted} to it`,
      { data: { stream: config.name, subjects } },
    );
  }
  return info;
}

/**
 * Makes sure a deployment's three streams exist.
 * @returns whether the events stream keeps its messages on disk.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  names: StreamNames,
  space: SubjectSpace,
  options: ResolvedOptions,
): Promise<{ durable: boolean }> {
  const common = {
    storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
    num_replicas: options.replicas,
    duplicate_window: nanos(options.dedupWindow),
    discard: DiscardPolicy.Old,
  };
  const events = await ensureStream(jsm, {
    ...common,
    name: names.events,
    subjects: [`${space.events}.>`],
    retention: RetentionPolicy.Limits,
    max_age: nanos(options.maxAge),
    max_bytes: options.maxBytes,
    max_msgs: options.maxMessages,
  });
  await ensureStream(jsm, {
    ...common,
    name: names.deadLetters,
    subjects: [`${space.deadLetters}.>`],
    retention: RetentionPolicy.Limits,
  });
  await ensureStream(jsm, {
    ...common,
    name: names.replays,
    subjects: [`${space.replays}.>`],
    retention: RetentionPolicy.Workqueue,
  });
  return { durable: events.config.storage === StorageType.File };
}
