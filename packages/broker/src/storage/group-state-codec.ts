/**
 * Bytes of the group state files: the operations appended to `groups.*.log`
 * (framed like stream records: CRC32C, length, then the body) and the
 * snapshot that compaction writes. Layouts in `docs/storage.md`.
 */
import { crc32c } from '@node-rs/crc32';
import { readU64, writeU64 } from './binary.js';
import { GroupState } from './group-state.js';

/** One change to group state, as logged. */
export type GroupOp =
  | { op: 'create'; group: string; ackFloor: number }
  | { op: 'delete'; group: string }
  | { op: 'ack'; group: string; sequence: number }
  | { op: 'ackThrough'; group: string; sequence: number }
  | { op: 'delivered'; group: string; sequence: number };

const OP_CODES = { create: 1, delete: 2, ack: 3, ackThrough: 4, delivered: 5 } as const;
const OP_NAMES = ['', 'create', 'delete', 'ack', 'ackThrough', 'delivered'] as const;
/** Frame bytes before an op's body: crc u32, size u32, op u8, name length u16. */
const OP_HEADER = 11;
const SNAPSHOT_MAGIC = 0x53534743; // 'CGSS' little-endian
const SNAPSHOT_VERSION = 1;

/** Encodes `op` as one framed log record. */
export function encodeOp(op: GroupOp): Buffer {
  const name = Buffer.from(op.group, 'utf8');
  const buffer = Buffer.allocUnsafe(opSize(op, name.length));
  encodeOpInto(buffer, 0, op, name);
  return buffer;
}

/** Frame bytes of `op` whose group name takes `nameBytes` UTF-8 bytes. */
export function opSize(op: GroupOp, nameBytes: number): number {
  return OP_HEADER + nameBytes + (op.op !== 'delete' ? 8 : 0);
}

/**
 * Encodes `op` into `target` at `offset` (sized with {@link opSize}), its
 * group name given as UTF-8 `name`; returns the offset after it. Lets a group
 * commit write every op into one buffer.
 */
export function encodeOpInto(target: Buffer, offset: number, op: GroupOp, name: Uint8Array): number {
  const size = opSize(op, name.length);
  target.writeUInt32LE(size, offset + 4);
  target[offset + 8] = OP_CODES[op.op];
  target.writeUInt16LE(name.length, offset + 9);
  target.set(name, offset + OP_HEADER);
  if (op.op === 'create') writeU64(target, op.ackFloor, offset + OP_HEADER + name.length);
  else if (op.op !== 'delete') writeU64(target, op.sequence, offset + OP_HEADER + name.length);
  target.writeUInt32LE(crc32c(target.subarray(offset + 4, offset + size)), offset);
  return offset + size;
}

/**
 * Decodes the op framed at `offset`: the op and its size, or a reason why
 * the bytes there are torn or corrupt.
 */
export function decodeOp(
  buffer: Buffer,
  offset: number,
): { op: GroupOp; size: number } | { problem: string } {
  const left = buffer.length - offset;
  if (left < OP_HEADER) return { problem: `${left} trailing bytes are shorter than an op header` };
  const size = buffer.readUInt32LE(offset + 4);
  if (size < OP_HEADER || size > left)
    return { problem: `op length ${size} does not fit the ${left} bytes left` };
  if (buffer.readUInt32LE(offset) !== crc32c(buffer.subarray(offset + 4, offset + size))) {
    return { problem: 'checksum mismatch' };
  }
  const kind = OP_NAMES[buffer[offset + 8] ?? 0];
  const nameLength = buffer.readUInt16LE(offset + 9);
  const bodyAt = offset + OP_HEADER + nameLength;
  const expected = OP_HEADER + nameLength + (kind === 'delete' ? 0 : 8);
  if (kind === undefined || kind === '' || size !== expected) return { problem: 'malformed op' };
  const group = buffer.toString('utf8', offset + OP_HEADER, bodyAt);
  if (kind === 'delete') return { op: { op: 'delete', group }, size };
  const value = readU64(buffer, bodyAt);
  if (value < 0) return { problem: 'sequence out of range' };
  if (kind === 'create') return { op: { op: 'create', group, ackFloor: value }, size };
  return { op: { op: kind, group, sequence: value }, size };
}

/** Applies `op` to `groups`; ops on unknown groups are ignored. Returns the delivery count for `delivered`. */
export function applyOp(groups: Map<string, GroupState>, op: GroupOp): number {
  if (op.op === 'create') {
    if (!groups.has(op.group)) groups.set(op.group, new GroupState(op.group, op.ackFloor));
    return 0;
  }
  if (op.op === 'delete') {
    groups.delete(op.group);
    return 0;
  }
  const state = groups.get(op.group);
  if (!state) return 0;
  if (op.op === 'ack') state.ack(op.sequence);
  else if (op.op === 'ackThrough') state.ackThrough(op.sequence);
  else return state.delivered(op.sequence);
  return 0;
}

/** Encodes every group as a snapshot that replaces logs older than `nextLog`. */
export function encodeSnapshot(groups: ReadonlyMap<string, GroupState>, nextLog: number): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(20);
  head.writeUInt32LE(SNAPSHOT_MAGIC, 0);
  head.writeUInt32LE(SNAPSHOT_VERSION, 4);
  writeU64(head, nextLog, 8);
  head.writeUInt32LE(groups.size, 16);
  parts.push(head);
  for (const state of groups.values()) {
    const name = Buffer.from(state.name, 'utf8');
    const ranges = toRanges(state.ackedAboveFloor());
    const deliveries = state.deliveries();
    const part = Buffer.alloc(2 + name.length + 8 + 4 + ranges.length * 16 + 4 + deliveries.length * 12);
    let at = part.writeUInt16LE(name.length, 0);
    at += name.copy(part, at);
    writeU64(part, state.ackFloor, at);
    at = part.writeUInt32LE(ranges.length, at + 8);
    for (const [from, to] of ranges) {
      writeU64(part, from, at);
      writeU64(part, to, at + 8);
      at += 16;
    }
    at = part.writeUInt32LE(deliveries.length, at);
    for (const [sequence, count] of deliveries) {
      writeU64(part, sequence, at);
      at = part.writeUInt32LE(Math.min(count, 0xffff_ffff), at + 8);
    }
    parts.push(part);
  }
  const body = Buffer.concat(parts);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32c(body), 0);
  return Buffer.concat([body, crc]);
}

/** Decodes a snapshot; throws a plain `Error` saying what is wrong when it is damaged. */
export function decodeSnapshot(bytes: Buffer): { groups: Map<string, GroupState>; nextLog: number } {
  if (bytes.length < 24) throw new Error(`snapshot of ${bytes.length} bytes is too short`);
  const end = bytes.length - 4;
  if (bytes.readUInt32LE(end) !== crc32c(bytes.subarray(0, end)))
    throw new Error('snapshot checksum mismatch');
  if (bytes.readUInt32LE(0) !== SNAPSHOT_MAGIC) throw new Error('not a group state snapshot');
  if (bytes.readUInt32LE(4) !== SNAPSHOT_VERSION)
    throw new Error(`unknown snapshot version ${bytes.readUInt32LE(4)}`);
  const nextLog = readU64(bytes, 8);
  const count = bytes.readUInt32LE(16);
  const groups = new Map<string, GroupState>();
  let at = 20;
  for (let g = 0; g < count; g++) {
    const nameLength = bytes.readUInt16LE(at);
    const name = bytes.toString('utf8', at + 2, at + 2 + nameLength);
    at += 2 + nameLength;
    const state = new GroupState(name, readU64(bytes, at));
    const ranges = bytes.readUInt32LE(at + 8);
    at += 12;
    for (let r = 0; r < ranges; r++, at += 16) {
      const to = readU64(bytes, at + 8);
      for (let s = readU64(bytes, at); s <= to; s++) state.ack(s);
    }
    const deliveries = bytes.readUInt32LE(at);
    at += 4;
    for (let d = 0; d < deliveries; d++, at += 12) {
      state.setDeliveryCount(readU64(bytes, at), bytes.readUInt32LE(at + 8));
    }
    groups.set(name, state);
  }
  if (at !== end) throw new Error(`snapshot has ${end - at} unexpected trailing bytes`);
  return { groups, nextLog };
}

/** Ascending sequences as inclusive [from, to] runs. */
function toRanges(sequences: readonly number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const s of sequences) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] + 1 === s) last[1] = s;
    else ranges.push([s, s]);
  }
  return ranges;
}
