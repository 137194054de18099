/**
 * The options of a stream log and their defaults, validated in one place so
 * a bad value fails at open with a message that names it.
 */
import { basename } from 'node:path';
import { CourierError } from '@courier/core';
import { type FileLayer, nodeFileLayer } from './file-layer.js';
import { checkLimits, type RetentionLimits } from './retention.js';
import type { StorageLogger } from './storage-logger.js';
import { type SyncMode, type SyncPolicy, syncMode } from './sync-policy.js';

/** Options of {@link StreamLog.open}. */
export interface StreamLogOptions {
  /** The stream's directory; created when missing. */
  dir: string;
  /** The stream's name, for messages and logs (default: the directory's name). */
  name?: string;
  /** When appends are forced to disk; `'sync'` by default. See {@link SyncPolicy}. */
  sync?: SyncPolicy;
  /** Roll to a new segment past this many bytes (default 64 MiB, or an eighth of `limits.maxBytes`). */
  maxSegmentBytes?: number;
  /** Roll to a new segment past this many records (default unlimited, or an eighth of `limits.maxMessages`). */
  maxSegmentMessages?: number;
  /** Bytes between sparse index entries (default 4096). */
  indexIntervalBytes?: number;
  /** Largest payload plus id accepted, in bytes (default 16 MiB). */
  maxRecordBytes?: number;
  /** How long a message id is remembered for dedup, in ms (default 120000; 0 disables dedup). */
  dedupWindowMs?: number;
  /** Retention limits; none by default. */
  limits?: RetentionLimits;
  /** The first sequence of a brand-new stream (default 1). Ignored when the stream exists. */
  firstSequence?: number;
  /** The file system; the real one by default. Tests inject faults here. */
  fileLayer?: FileLayer;
  /** Where recovery, retention and I/O trouble are reported. */
  log?: StorageLogger;
  /** The clock, in ms since the epoch (default `Date.now`). */
  now?: () => number;
}

/** {@link StreamLogOptions} with every default applied. */
export interface ResolvedStreamLogOptions {
  dir: string;
  name: string;
  sync: SyncMode;
  maxSegmentBytes: number;
  maxSegmentMessages: number;
  indexIntervalBytes: number;
  maxRecordBytes: number;
  dedupWindowMs: number;
  limits: RetentionLimits;
  firstSequence: number;
  fileLayer: FileLayer;
  log: StorageLogger;
  now: () => number;
}

const MiB = 1024 * 1024;

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new CourierError('INVALID_OPTION', `${name} is ${value}; use an integer of at least ${min}`);
  }
  return value;
}

/** Applies defaults and validates; throws `INVALID_OPTION`. */
export function resolveStreamLogOptions(options: StreamLogOptions): ResolvedStreamLogOptions {
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new CourierError(
      'INVALID_OPTION',
      'a stream log needs a dir; pass the directory that holds its segments',
    );
  }
  const limits = options.limits ?? {};
  checkLimits(limits);
  const segmentBytesDefault = Math.max(
    64 * 1024,
    Math.min(64 * MiB, Math.floor((limits.maxBytes ?? Infinity) / 8)),
  );
  const segmentMessagesDefault =
    limits.maxMessages === undefined
      ? Number.MAX_SAFE_INTEGER
      : Math.max(1, Math.floor(limits.maxMessages / 8));
  const maxRecordBytes = positiveInt('maxRecordBytes', options.maxRecordBytes, 16 * MiB);
  if (maxRecordBytes > 0xffff_ffff - 64) {
    throw new CourierError(
      'INVALID_OPTION',
      `maxRecordBytes ${maxRecordBytes} exceeds the 4 GiB record frame`,
    );
  }
  return {
    dir: options.dir,
    name: options.name ?? basename(options.dir),
    sync: syncMode(options.sync),
    maxSegmentBytes: positiveInt('maxSegmentBytes', options.maxSegmentBytes, segmentBytesDefault),
    maxSegmentMessages: positiveInt('maxSegmentMessages', options.maxSegmentMessages, segmentMessagesDefault),
    indexIntervalBytes: positiveInt('indexIntervalBytes', options.indexIntervalBytes, 4096),
    maxRecordBytes,
    dedupWindowMs: positiveInt('dedupWindowMs', options.dedupWindowMs, 120_000, 0),
    limits,
    firstSequence: positiveInt('firstSequence', options.firstSequence, 1),
    fileLayer: options.fileLayer ?? nodeFileLayer,
    log: options.log ?? {},
    now: options.now ?? Date.now,
  };
}
