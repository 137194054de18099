/**
 * Opening group state after a clean stop or a crash: load the snapshot,
 * delete the logs it already contains and unfinished temp files, replay the
 * later logs in generation order, and cut each at its first torn or corrupt
 * op. A damaged snapshot is an error, never skipped: it is only ever
 * replaced atomically, so damage means the disk corrupted it.
 */
import { join } from 'node:path';
import { CourierError } from '@courier/core';
import { type FileLayer, readWholeFile, type StorageFile } from './file-layer.js';
import type { GroupState } from './group-state.js';
import { applyOp, decodeOp, decodeSnapshot } from './group-state-codec.js';
import type { StorageLogger } from './storage-logger.js';

/** The snapshot's file name. */
export const SNAPSHOT = 'groups.snapshot';
const LOG_NAME = /^groups\.(\d{20})\.log$/;

/** The file name of the log of `generation`. */
export const logName = (generation: number): string => `groups.${String(generation).padStart(20, '0')}.log`;

/** What opening the group state found and did. */
export interface GroupRecoveryReport {
  /** True when a snapshot was loaded. */
  snapshot: boolean;
  /** Logs replayed after the snapshot. */
  logs: number;
  /** Ops replayed. */
  ops: number;
  /** Torn or corrupt log tails cut away. */
  truncated: Array<{ file: string; position: number; droppedBytes: number; reason: string }>;
  /** Files removed: logs the snapshot made obsolete, unfinished temp files. */
  removedFiles: string[];
}

/** Loads the snapshot, replays the logs after it and cuts torn tails; see the module comment. */
export async function recoverGroupState(context: {
  layer: FileLayer;
  dir: string;
  log: StorageLogger;
}): Promise<{
  groups: Map<string, GroupState>;
  generation: number;
  file: StorageFile;
  size: number;
  report: GroupRecoveryReport;
}> {
  const { layer, dir, log } = context;
  await layer.mkdir(dir);
  const report: GroupRecoveryReport = { snapshot: false, logs: 0, ops: 0, truncated: [], removedFiles: [] };
  const names = await layer.readdir(dir);
  for (const name of names.filter((n) => n.endsWith('.tmp'))) {
    await layer.unlink(join(dir, name));
    report.removedFiles.push(name);
  }
  let groups = new Map<string, GroupState>();
  let nextLog = 1;
  const snapshotBytes = await readWholeFile(layer, join(dir, SNAPSHOT));
  if (snapshotBytes) {
    try {
      ({ groups, nextLog } = decodeSnapshot(snapshotBytes));
      report.snapshot = true;
    } catch (cause) {
      throw new CourierError(
        'STORAGE_ERROR',
        `group state snapshot ${join(dir, SNAPSHOT)} is damaged (${(cause as Error).message}); it is only ever ` +
          'replaced atomically, so the disk corrupted it: restore it from a backup, or move the directory aside ' +
          'to restart every group from the beginning of its stream (messages are redelivered)',
        { cause, retryable: false },
      );
    }
  }
  const generations = names
    .map((n) => LOG_NAME.exec(n)?.[1])
    .filter((g): g is string => g !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  let file: StorageFile | undefined;
  let size = 0;
  let generation = nextLog;
  for (const g of generations) {
    const path = join(dir, logName(g));
    if (g < nextLog) {
      await layer.unlink(path);
      report.removedFiles.push(logName(g));
      continue;
    }
    const bytes = (await readWholeFile(layer, path)) ?? Buffer.alloc(0);
    let at = 0;
    while (at < bytes.length) {
      const decoded = decodeOp(bytes, at);
      if ('problem' in decoded) {
        report.truncated.push({
          file: logName(g),
          position: at,
          droppedBytes: bytes.length - at,
          reason: decoded.problem,
        });
        log.warn?.(
          { dir, file: logName(g), position: at, droppedBytes: bytes.length - at },
          `truncated group state log ${logName(g)} at byte ${at} (${decoded.problem})`,
        );
        break;
      }
      applyOp(groups, decoded.op);
      report.ops++;
      at += decoded.size;
    }
    report.logs++;
    if (file) await file.close();
    file = await layer.open(path, 'read-write');
    if (at < bytes.length) {
      await file.truncate(at);
      await file.datasync();
    }
    size = at;
    generation = g;
  }
  if (!file) {
    file = await layer.open(join(dir, logName(generation)), 'replace');
    await layer.syncDir(dir);
  }
  log.info?.({ dir, ...report, groups: groups.size }, 'opened group state');
  return { groups, generation, file, size, report };
}
