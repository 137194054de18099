/**
 * Internals of @courier/broker for sibling packages and tests (published as
 * `@courier/broker/internal`): storage formats, the simulated file system
 * and pure helpers. No stability promise beyond the monorepo.
 */
export { readU64, writeU64 } from './storage/binary.js';
export { DedupWindow } from './storage/dedup-window.js';
export { readWholeFile, writeFileAtomic } from './storage/file-layer.js';
export { GroupState } from './storage/group-state.js';
export type { GroupOp } from './storage/group-state-codec.js';
export { applyOp, decodeOp, decodeSnapshot, encodeOp, encodeSnapshot } from './storage/group-state-codec.js';
export type { InjectedFault, MemoryFileLayerOptions, MemoryFileOp } from './storage/memory-file-layer.js';
export { MemoryFileLayer } from './storage/memory-file-layer.js';
export type { FrameProblem, RecordHeader, RecordInput } from './storage/record-codec.js';
export {
  checksumMatches,
  decodeHeader,
  encodeRecord,
  MAX_ID_BYTES,
  RECORD_HEADER_BYTES,
  RECORD_VERSION,
  recordSize,
} from './storage/record-codec.js';
export type { ScannedRecord, ScanProblem } from './storage/record-scanner.js';
export { RecordScanner } from './storage/record-scanner.js';
export type { RetentionPlan, SegmentStats } from './storage/retention.js';
export { checkLimits, planRetention } from './storage/retention.js';
export { parseSegmentName, segmentName } from './storage/segment.js';
export type { SegmentSummary } from './storage/segment-index.js';
export { SparseIndex } from './storage/segment-index.js';
export { isDiskFull, storageError } from './storage/storage-errors.js';
export type { ResolvedStreamLogOptions } from './storage/stream-log-options.js';
export { resolveStreamLogOptions } from './storage/stream-log-options.js';
export type { SyncMode } from './storage/sync-policy.js';
export { syncMode } from './storage/sync-policy.js';
