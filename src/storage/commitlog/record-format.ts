import { crc32c, maskCrc } from '../crc32c.js';

/**
 * On-disk framing of one commit-log record (format v1, little-endian):
 *
 *   [u32 payloadLength][u32 masked crc32c(payload)][u32 masked crc32c(first 8 header bytes)][payload]
 *
 * The header carries its own checksum so a flipped bit in the length field is caught before the
 * length is trusted (otherwise one flip could make a mid-file record look like a torn tail and
 * silently drop everything after it). Checksums are masked as in LevelDB, so an all-zero region
 * (a preallocated or zero-filled tail after a crash) never parses as a valid empty record.
 * A segment file is a plain concatenation of records; it has no file header.
 */
export const RECORD_HEADER_BYTES = 12;
/** Largest payload append() accepts and replay trusts in a header. */
export const MAX_RECORD_PAYLOAD_BYTES = 64 * 1024 * 1024;

export function encodeRecord(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  frame.set(payload, RECORD_HEADER_BYTES);
  const view = new DataView(frame.buffer, frame.byteOffset, RECORD_HEADER_BYTES);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, maskCrc(crc32c(frame.subarray(RECORD_HEADER_BYTES))), true);
  view.setUint32(8, maskCrc(crc32c(frame.subarray(0, 8))), true);
  return frame;
}

/** Reads a u32 LE without allocating a DataView. */
function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/** The payload length if the 12 header bytes at `at` are self-consistent, else -1. */
export function checkHeader(bytes: Uint8Array, at: number): number {
  const length = u32(bytes, at);
  if (length > MAX_RECORD_PAYLOAD_BYTES) return -1;
  if (maskCrc(crc32c(bytes.subarray(at, at + 8))) !== u32(bytes, at + 8)) return -1;
  return length;
}

export function checkPayload(bytes: Uint8Array, headerAt: number, length: number): boolean {
  const start = headerAt + RECORD_HEADER_BYTES;
  return maskCrc(crc32c(bytes.subarray(start, start + length))) === u32(bytes, headerAt + 4);
}

/**
 * How a segment ends.
 * - clean: every byte belongs to a valid record.
 * - torn: the tail is an incomplete write — a partial header, a valid header whose payload runs past
 *   the end of the file, or zero bytes. Expected after a crash or a failed write; never acknowledged.
 * - corrupt: the tail is a complete record with a wrong checksum, or bytes that are neither.
 */
export type TailState = 'clean' | 'torn' | 'corrupt';

export interface DecoderSink {
  record(payload: Uint8Array, offset: number): void;
  /** Bytes [start, end) are corrupt and a valid record starts at `end` (so this is not the tail). */
  corruption(start: number, end: number, reason: string): void;
}

export interface DecoderEnd {
  tail: TailState;
  /** Offset where the tail's bad bytes begin (= the length to keep); the file size when clean. */
  validLengthBytes: number;
  reason?: string;
}

/**
 * Incremental parser of a segment: push() chunks split anywhere, then end(). After a bad header it
 * resynchronises byte by byte to the next self-consistent record; a record whose header is valid but
 * whose payload checksum fails is skipped whole (its length is trusted, having a checksum of its own).
 * Corruption followed by a valid record is reported to the sink (the sink may throw to stop); a bad
 * region that reaches the end of the input is reported by end() as the tail.
 */
export class RecordDecoder {
  private pending: Uint8Array = new Uint8Array(0);
  /** File offset of pending[0]. */
  private base = 0;
  private corruptStart = -1;
  private corruptReason = '';
  private corruptAllZero = true;
  private corruptKind: 'header' | 'payload' = 'header';

  constructor(private readonly sink: DecoderSink) {}

  /** Bytes the decoder needs before it can make progress (a hint for read sizes). */
  bytesWanted(): number {
    if (this.pending.length >= RECORD_HEADER_BYTES) {
      const length = checkHeader(this.pending, 0);
      if (length >= 0) return Math.max(0, RECORD_HEADER_BYTES + length - this.pending.length);
    }
    return RECORD_HEADER_BYTES;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    let buf: Uint8Array;
    if (this.pending.length === 0) {
      buf = chunk;
    } else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending);
      buf.set(chunk, this.pending.length);
    }
    const consumed = this.scan(buf, false);
    this.pending = buf.subarray(consumed);
    this.base += consumed;
  }

  end(): DecoderEnd {
    const buf = this.pending;
    const consumed = this.scan(buf, true);
    const endOffset = this.base + buf.length;
    const rest = buf.subarray(consumed);
    if (this.corruptStart >= 0) {
      if (!isAllZero(rest)) this.corruptAllZero = false;
      const torn = this.corruptKind === 'header' && this.corruptAllZero;
      return { tail: torn ? 'torn' : 'corrupt', validLengthBytes: this.corruptStart, reason: torn ? 'zero-filled tail' : this.corruptReason };
    }
    if (rest.length === 0) return { tail: 'clean', validLengthBytes: endOffset };
    const start = this.base + consumed;
    if (rest.length < RECORD_HEADER_BYTES) return { tail: 'torn', validLengthBytes: start, reason: `partial header (${rest.length} bytes)` };
    if (isAllZero(rest)) return { tail: 'torn', validLengthBytes: start, reason: 'zero-filled tail' };
    // scan(…, true) only leaves bytes unconsumed outside a corrupt region for a valid header whose
    // payload runs past the end.
    return { tail: 'torn', validLengthBytes: start, reason: `record of ${checkHeader(rest, 0)} bytes cut short at ${rest.length - RECORD_HEADER_BYTES}` };
  }

  /** Parses what it can of buf; returns how many bytes were consumed. */
  private scan(buf: Uint8Array, atEnd: boolean): number {
    let p = 0;
    while (buf.length - p >= RECORD_HEADER_BYTES) {
      const length = checkHeader(buf, p);
      if (length < 0) {
        this.markCorrupt(p, 'header checksum mismatch', 'header');
        if (buf[p] !== 0) this.corruptAllZero = false;
        p += 1;
        continue;
      }
      if (buf.length - p < RECORD_HEADER_BYTES + length) {
        if (!atEnd) break;
        if (this.corruptStart < 0) return p; // torn tail, classified by end()
        // Inside a corrupt region: this candidate is cut short by the end of file, so nothing valid follows.
        this.corruptAllZero = false;
        return buf.length;
      }
      if (!checkPayload(buf, p, length)) {
        this.markCorrupt(p, 'payload checksum mismatch', 'payload');
        this.corruptAllZero = false;
        p += RECORD_HEADER_BYTES + length;
        continue;
      }
      if (this.corruptStart >= 0) {
        const start = this.corruptStart;
        const reason = this.corruptReason;
        this.corruptStart = -1;
        this.sink.corruption(start, this.base + p, reason);
      }
      const begin = p + RECORD_HEADER_BYTES;
      this.sink.record(buf.slice(begin, begin + length), this.base + p);
      p = begin + length;
    }
    if (atEnd && this.corruptStart >= 0) {
      if (!isAllZero(buf.subarray(p))) this.corruptAllZero = false;
      return buf.length;
    }
    return p;
  }

  private markCorrupt(p: number, reason: string, kind: 'header' | 'payload'): void {
    if (this.corruptStart >= 0) return;
    this.corruptStart = this.base + p;
    this.corruptReason = reason;
    this.corruptKind = kind;
    this.corruptAllZero = true;
  }
}

function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
