import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { crc32c, maskCrc, unmaskCrc } from '../crc32c.js';
import { readVarint, varintEnd } from './varint.js';

/**
 * SSTable file layout (all integers little-endian):
 *
 *   [data block]…  [index] [bloom] [meta] [footer: 64 bytes]
 *
 * data block  = payload ‖ u8 compression ‖ u32 masked crc32c(payload ‖ compression)
 *   payload   = entry…, entry = varint keyLen ‖ u8 kind ‖ varint valueLen ‖ key ‖ value
 *               (key = internal key bytes; a tombstone's value is its f64 write time in ms)
 * index       = per block: varint firstKeyLen ‖ firstKey ‖ u48 offset ‖ varint storedLength
 * bloom       = see bloom-filter.ts
 * meta        = UTF-8 JSON of TableMeta
 * footer      = magic(8) ‖ u32 version ‖ u32 flags ‖ u48 indexOffset (8 bytes) ‖ u32 indexLength ‖
 *               u32 bloomLength ‖ u32 metaLength ‖ u32 indexCrc ‖ u32 bloomCrc ‖ u32 metaCrc ‖
 *               12 reserved ‖ u32 footerCrc (over the 60 bytes before it)
 * index, bloom and meta are contiguous, in that order, right before the footer.
 */
export const SSTABLE_MAGIC = Buffer.from('RKVSST\r\n', 'latin1');
export const SSTABLE_FORMAT_VERSION = 1;
export const FOOTER_BYTES = 64;
export const BLOCK_TRAILER_BYTES = 5;

export const KIND_PUT = 0;
export const KIND_TOMBSTONE = 1;

export const COMPRESSION_NONE = 0;
export const COMPRESSION_DEFLATE = 1;
export type BlockCompression = 'none' | 'deflate';

export interface TableMeta {
  formatVersion: number;
  entryCount: number;
  tombstoneCount: number;
  blockCount: number;
  minKey: string;
  maxKey: string;
  createdAtMs: number;
}

export interface Footer {
  indexOffset: number;
  indexLength: number;
  bloomLength: number;
  metaLength: number;
  indexCrc: number;
  bloomCrc: number;
  metaCrc: number;
}

/** A checksum or structure failure in a table file; `offset` is where in the file. */
export class CorruptTableError extends Error {
  constructor(readonly file: string, readonly offset: number, detail: string) {
    super(`corrupt sstable ${file} at offset ${offset}: ${detail}`);
    this.name = 'CorruptTableError';
  }
}

export function encodeFooter(f: Footer): Buffer {
  const b = Buffer.alloc(FOOTER_BYTES);
  SSTABLE_MAGIC.copy(b, 0);
  b.writeUInt32LE(SSTABLE_FORMAT_VERSION, 8);
  b.writeUInt32LE(0, 12);
  b.writeUIntLE(f.indexOffset, 16, 6);
  b.writeUInt32LE(f.indexLength, 24);
  b.writeUInt32LE(f.bloomLength, 28);
  b.writeUInt32LE(f.metaLength, 32);
  b.writeUInt32LE(maskCrc(f.indexCrc), 36);
  b.writeUInt32LE(maskCrc(f.bloomCrc), 40);
  b.writeUInt32LE(maskCrc(f.metaCrc), 44);
  b.writeUInt32LE(maskCrc(crc32c(b.subarray(0, 60))), 60);
  return b;
}

export function decodeFooter(b: Buffer, file: string, fileSize: number): Footer {
  const at = fileSize - FOOTER_BYTES;
  if (b.length !== FOOTER_BYTES) throw new CorruptTableError(file, at, 'short footer');
  if (!b.subarray(0, 8).equals(SSTABLE_MAGIC)) throw new CorruptTableError(file, at, 'bad magic');
  if (unmaskCrc(b.readUInt32LE(60)) !== crc32c(b.subarray(0, 60))) throw new CorruptTableError(file, at, 'footer checksum mismatch');
  const version = b.readUInt32LE(8);
  if (version !== SSTABLE_FORMAT_VERSION) throw new CorruptTableError(file, at, `unsupported format version ${version}`);
  const f: Footer = {
    indexOffset: b.readUIntLE(16, 6),
    indexLength: b.readUInt32LE(24),
    bloomLength: b.readUInt32LE(28),
    metaLength: b.readUInt32LE(32),
    indexCrc: unmaskCrc(b.readUInt32LE(36)),
    bloomCrc: unmaskCrc(b.readUInt32LE(40)),
    metaCrc: unmaskCrc(b.readUInt32LE(44)),
  };
  if (f.indexOffset + f.indexLength + f.bloomLength + f.metaLength !== at) {
    throw new CorruptTableError(file, at, 'footer offsets do not add up to the file size');
  }
  return f;
}

/**
 * Seals a block payload: compresses it when asked and when that saves at least 1/8, then appends the
 * trailer. Returns the stored bytes.
 */
export function sealBlock(payload: Buffer, compression: BlockCompression): Buffer {
  let body = payload;
  let kind = COMPRESSION_NONE;
  if (compression === 'deflate') {
    const packed = deflateRawSync(payload, { level: 1 });
    if (packed.length < payload.length - (payload.length >>> 3)) {
      body = packed;
      kind = COMPRESSION_DEFLATE;
    }
  }
  const out = Buffer.allocUnsafe(body.length + BLOCK_TRAILER_BYTES);
  body.copy(out, 0);
  out[body.length] = kind;
  out.writeUInt32LE(maskCrc(crc32c(out.subarray(0, body.length + 1))), body.length + 1);
  return out;
}

/** A block decoded for lookups; keys as internal-key strings so binary search is string compares. */
export class DecodedBlock {
  constructor(
    readonly keys: string[],
    readonly kinds: Uint8Array,
    readonly valueStarts: Uint32Array,
    readonly valueEnds: Uint32Array,
    readonly payload: Buffer,
  ) {}

  get count(): number {
    return this.keys.length;
  }

  /** Memory charged to the block cache. */
  get sizeBytes(): number {
    return this.payload.length + this.keys.length * 48 + 128;
  }

  /** Index of `key`, or -1. */
  find(key: string): number {
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid];
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid;
      else return mid;
    }
    return -1;
  }

  /** Index of the first key >= `key` (count when none). */
  lowerBound(key: string): number {
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A copy of entry i's value (callers may keep or mutate it). */
  copyValue(i: number): Buffer {
    const start = this.valueStarts[i];
    const len = this.valueEnds[i] - start;
    const out = Buffer.allocUnsafe(len);
    this.payload.copy(out, 0, start, start + len);
    return out;
  }

  tombstoneTsMs(i: number): number {
    return this.payload.readDoubleLE(this.valueStarts[i]);
  }
}

/** Verifies and decodes one stored block (`stored` = payload ‖ trailer) found at `offset` of `file`. */
export function openBlock(stored: Buffer, file: string, offset: number): DecodedBlock {
  if (stored.length < BLOCK_TRAILER_BYTES) throw new CorruptTableError(file, offset, 'short block');
  const bodyLength = stored.length - BLOCK_TRAILER_BYTES;
  const expected = unmaskCrc(stored.readUInt32LE(bodyLength + 1));
  if (crc32c(stored.subarray(0, bodyLength + 1)) !== expected) throw new CorruptTableError(file, offset, 'block checksum mismatch');
  const kind = stored[bodyLength];
  let payload: Buffer;
  if (kind === COMPRESSION_NONE) payload = stored.subarray(0, bodyLength);
  else if (kind === COMPRESSION_DEFLATE) {
    try {
      payload = inflateRawSync(stored.subarray(0, bodyLength));
    } catch {
      throw new CorruptTableError(file, offset, 'block does not inflate');
    }
  } else throw new CorruptTableError(file, offset, `unknown block compression ${kind}`);
  try {
    return decodePayload(payload);
  } catch (err) {
    if (err instanceof RangeError) throw new CorruptTableError(file, offset, `malformed block: ${err.message}`);
    throw err;
  }
}

function decodePayload(payload: Buffer): DecodedBlock {
  const limit = payload.length;
  const keys: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const kinds: number[] = [];
  let p = 0;
  while (p < limit) {
    const keyLen = readVarint(payload, p, limit);
    p = varintEnd;
    if (p >= limit) throw new RangeError('entry runs past block end');
    const kind = payload[p++];
    if (kind !== KIND_PUT && kind !== KIND_TOMBSTONE) throw new RangeError(`unknown entry kind ${kind}`);
    const valueLen = readVarint(payload, p, limit);
    p = varintEnd;
    if (p + keyLen + valueLen > limit) throw new RangeError('entry runs past block end');
    if (kind === KIND_TOMBSTONE && valueLen !== 8) throw new RangeError('tombstone without a timestamp');
    keys.push(payload.latin1Slice(p, p + keyLen));
    p += keyLen;
    starts.push(p);
    p += valueLen;
    ends.push(p);
    kinds.push(kind);
  }
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1] < keys[i])) throw new RangeError('keys out of order');
  }
  return new DecodedBlock(keys, Uint8Array.from(kinds), Uint32Array.from(starts), Uint32Array.from(ends), payload);
}
