/**
 * Reads records one by one from a segment file between two byte positions,
 * through a buffer refilled in large reads, verifying every frame. It stops
 * at the end or at the first torn or corrupt frame and says which and why;
 * recovery uses that to decide where to truncate, readers to report damage.
 */

import type { StorageFile } from './file-layer.js';
import {
  checksumMatches,
  decodeHeader,
  type FrameProblem,
  isProblem,
  RECORD_HEADER_BYTES,
} from './record-codec.js';

/** A record as read from a segment. */
export interface ScannedRecord {
  sequence: number;
  /** Milliseconds since the Unix epoch when the log stored the record. */
  time: number;
  /** Byte position of the frame in its segment. */
  position: number;
  /** Frame bytes, header included. */
  size: number;
  /** The message id, `undefined` when the record has none or bodies were not requested. */
  id: string | undefined;
  /** The payload; empty when bodies were not requested. */
  payload: Buffer;
}

/** Where and why a scan stopped early. */
export type ScanProblem = FrameProblem & { position: number };

/** Options for {@link RecordScanner}. */
export interface RecordScannerOptions {
  /** Byte position of the first frame. */
  from: number;
  /** Byte position to stop at (the committed size). */
  end: number;
  /** The sequence the first frame must carry; each next one is one more. */
  expectSequence: number;
  /** Decode ids and payloads (false for index rebuilds, which need headers only). */
  withBody: boolean;
  /** Bytes per read. */
  readBytes?: number;
}

/** See the module comment. */
export class RecordScanner {
  readonly #file: StorageFile;
  readonly #withBody: boolean;
  readonly #chunk: number;
  #end: number;
  #expect: number;
  #buffer = Buffer.alloc(0);
  #bufferStart = 0;
  /** The position after the last good record. */
  position: number;
  /** Set when the scan stopped at a torn or corrupt frame. */
  problem: ScanProblem | undefined;

  constructor(file: StorageFile, options: RecordScannerOptions) {
    this.#file = file;
    this.#withBody = options.withBody;
    this.#chunk = options.readBytes ?? 256 * 1024;
    this.#end = options.end;
    this.#expect = options.expectSequence;
    this.position = options.from;
  }

  /** The next good record, or `undefined` at the end or at a problem. */
  async next(): Promise<ScannedRecord | undefined> {
    if (this.problem || this.position >= this.#end) return undefined;
    const at = this.position;
    let offset = at - this.#bufferStart;
    let header = decodeHeader(this.#buffer, offset, this.#end - at);
    if (header === undefined) {
      await this.#fill(at, RECORD_HEADER_BYTES);
      offset = 0;
      header = decodeHeader(this.#buffer, offset, this.#end - at);
    }
    if (header === undefined) return this.#stop({ kind: 'torn', reason: 'file ended inside a header' });
    if (isProblem(header)) return this.#stop(header);
    if (this.#buffer.length - offset < header.size) {
      await this.#fill(at, header.size);
      offset = 0;
      if (this.#buffer.length < header.size) {
        return this.#stop({
          kind: 'torn',
          reason: `record claims ${header.size} bytes past the end of file`,
        });
      }
    }
    if (!checksumMatches(this.#buffer, offset, header.size)) {
      return this.#stop({ kind: 'corrupt', reason: 'checksum mismatch' });
    }
    if (header.sequence !== this.#expect) {
      return this.#stop({
        kind: 'corrupt',
        reason: `sequence ${header.sequence} where ${this.#expect} was expected`,
      });
    }
    this.#expect++;
    this.position = at + header.size;
    const bodyAt = offset + RECORD_HEADER_BYTES;
    const withBody = this.#withBody;
    return {
      sequence: header.sequence,
      time: header.time,
      position: at,
      size: header.size,
      id:
        withBody && header.idLength > 0
          ? this.#buffer.toString('utf8', bodyAt, bodyAt + header.idLength)
          : undefined,
      payload: withBody
        ? this.#buffer.subarray(bodyAt + header.idLength, offset + header.size)
        : Buffer.alloc(0),
    };
  }

  #stop(problem: FrameProblem): undefined {
    this.problem = { ...problem, position: this.position };
    return undefined;
  }

  async #fill(position: number, atLeast: number): Promise<void> {
    const want = Math.min(Math.max(atLeast, this.#chunk), this.#end - position);
    const buffer = Buffer.allocUnsafe(want);
    let done = 0;
    while (done < want) {
      const n = await this.#file.read(buffer.subarray(done), position + done);
      if (n === 0) break;
      done += n;
    }
    // A file shorter than the caller believed ends the scan where the bytes end.
    if (done < want) this.#end = position + done;
    this.#buffer = buffer.subarray(0, done);
    this.#bufferStart = position;
  }
}
