/**
 * Opening a stream directory after a clean stop or a crash: finds the
 * segments, trusts a sealed segment's index file only when it matches the
 * segment, verifies the active (last) segment record by record, truncates
 * at the first torn or corrupt record, and reports everything it dropped.
 */
import { join } from 'node:path';
import { type FileLayer, readWholeFile } from './file-layer.js';
import { parseSegmentName, Segment, segmentName } from './segment.js';
import { SparseIndex } from './segment-index.js';
import type { StorageLogger } from './storage-logger.js';

/** Bytes cut from a segment on open, and why. */
export interface Truncation {
  /** The segment file name. */
  segment: string;
  /** Where the good records end (the new file size). */
  position: number;
  /** Bytes removed from the end of the file. */
  droppedBytes: number;
  /** `torn`: an interrupted write; `corrupt`: bytes present but wrong. */
  kind: 'torn' | 'corrupt';
  /** What was wrong with the first bad frame. */
  reason: string;
}

/** What opening a stream found and did. */
export interface RecoveryReport {
  /** Segment files after recovery. */
  segments: number;
  /** Records after recovery. */
  records: number;
  /** Tails cut away. Empty after a clean stop. */
  truncated: Truncation[];
  /** Sealed segments whose index file was missing or stale and was rebuilt by scanning. */
  indexesRebuilt: number;
  /** Leftover files removed (index files without a segment). */
  removedFiles: string[];
  /** Ids loaded into the dedup window. */
  dedupEntries: number;
}

/** Inputs of {@link recoverSegments}. */
export interface RecoveryContext {
  layer: FileLayer;
  dir: string;
  indexIntervalBytes: number;
  firstSequence: number;
  log: StorageLogger;
}

/** Opens every segment of `dir`, repairing as the module comment says. */
export async function recoverSegments(
  context: RecoveryContext,
): Promise<{ segments: Segment[]; report: RecoveryReport }> {
  const { layer, dir, log } = context;
  await layer.mkdir(dir);
  const names = await layer.readdir(dir);
  const report: RecoveryReport = {
    segments: 0,
    records: 0,
    truncated: [],
    indexesRebuilt: 0,
    removedFiles: [],
    dedupEntries: 0,
  };
  const bases = names
    .map(parseSegmentName)
    .filter((b): b is number => b !== undefined)
    .sort((a, b) => a - b);
  const segmentNames = new Set(names.filter((n) => parseSegmentName(n) !== undefined));
  for (const name of names) {
    const orphanIndex = name.endsWith('.idx') && !segmentNames.has(name.replace(/\.idx$/, '.log'));
    if (orphanIndex) {
      await layer.unlink(join(dir, name));
      report.removedFiles.push(name);
    }
  }

  const segments: Segment[] = [];
  for (let i = 0; i < bases.length; i++) {
    const options = { layer, dir, base: bases[i]!, indexIntervalBytes: context.indexIntervalBytes };
    const segment = await Segment.open(options);
    const sealed = i < bases.length - 1;
    if (!(sealed && (await loadIndex(layer, segment, context.indexIntervalBytes)))) {
      if (sealed) report.indexesRebuilt++;
      const { fileSize, problem } = await segment.scan();
      if (problem) {
        const truncation: Truncation = {
          segment: segmentName(options.base),
          position: segment.size,
          droppedBytes: fileSize - segment.size,
          kind: problem.kind,
          reason: problem.reason,
        };
        report.truncated.push(truncation);
        log[sealed ? 'error' : 'warn']?.(
          { dir, ...truncation, sealed },
          sealed
            ? `sealed segment ${truncation.segment} is damaged at byte ${truncation.position} (${problem.reason}); ` +
                `dropped ${truncation.droppedBytes} bytes after the last good record ${segment.lastSequence}`
            : `truncated ${truncation.droppedBytes} bytes of ${problem.kind} tail at byte ${truncation.position} ` +
                `of ${truncation.segment} (${problem.reason}); the last good record is ${segment.lastSequence}`,
        );
        await layer.unlink(segment.indexPath);
        await segment.truncateToSize();
      }
      if (sealed) await writeIndex(layer, segment, log);
    }
    segments.push(segment);
  }

  if (segments.length === 0) {
    segments.push(
      await Segment.create({
        layer,
        dir,
        base: context.firstSequence,
        indexIntervalBytes: context.indexIntervalBytes,
      }),
    );
    await layer.syncDir(dir);
  }
  report.segments = segments.length;
  report.records = segments.reduce((n, s) => n + s.count, 0);
  return { segments, report };
}

/** Loads a sealed segment's index file when it describes exactly this segment. */
async function loadIndex(layer: FileLayer, segment: Segment, interval: number): Promise<boolean> {
  const bytes = await readWholeFile(layer, segment.indexPath);
  if (!bytes) return false;
  const decoded = SparseIndex.decode(bytes, interval);
  if (!decoded) return false;
  const { index, summary } = decoded;
  if (summary.base !== segment.base || summary.size !== (await segment.file.size())) return false;
  segment.index = index;
  segment.size = summary.size;
  segment.count = summary.count;
  segment.firstTime = summary.firstTime;
  segment.lastTime = summary.lastTime;
  return true;
}

/**
 * Writes a sealed segment's index file. Not synced: it is a cache guarded by
 * a checksum and the segment size, rebuilt by scanning when it does not match.
 */
export async function writeIndex(layer: FileLayer, segment: Segment, log: StorageLogger): Promise<void> {
  try {
    const file = await layer.open(segment.indexPath, 'replace');
    try {
      await file.write(
        segment.index.encode({
          base: segment.base,
          size: segment.size,
          count: segment.count,
          firstTime: segment.firstTime,
          lastTime: segment.lastTime,
        }),
        0,
      );
    } finally {
      await file.close();
    }
  } catch (error) {
    await layer.unlink(segment.indexPath).catch(() => undefined);
    log.warn?.(
      { path: segment.indexPath, error },
      'could not write a segment index; it is rebuilt on next open',
    );
  }
}
