import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { crc32c, maskCrc, unmaskCrc } from '../crc32c.js';
import { readVarint, varintEnd } from './varint.js';

/**
 * SSTable file layout (all integers little-endian):
 *
 *   [data block]…  [index] [bloom] [meta] [footer: 64 bytes]
 *
 * data block  = payload ‖ u8 compression ‖ u32 masked crc32c(payload ‖ compression)
 *   payload   = entry… ‖ u32 entryOffset[n] ‖ u32 n   (offsets let a lookup binary-search in place)
 *   entry     = varint keyLen ‖ u8 kind ‖ varint valueLen ‖ key ‖ value
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
 * Seals the block payload at buf[start, start + payloadLength) where it lies: compresses it when asked
 * and when that saves at least 1/8 (the smaller body then overwrites the payload), then writes the
 * trailer after the body. `buf` must hold BLOCK_TRAILER_BYTES past the payload. Returns the stored
 * length (body ‖ trailer), starting at `start`.
 */
export function sealBlockAt(buf: Buffer, start: number, payloadLength: number, compression: BlockCompression): number {
  let bodyLength = payloadLength;
  let kind = COMPRESSION_NONE;
  if (compression === 'deflate') {
    const packed = deflateRawSync(buf.subarray(start, start + payloadLength), { level: 1 });
    if (packed.length < payloadLength - (payloadLength >>> 3)) {
      buf.set(packed, start);
      bodyLength = packed.length;
      kind = COMPRESSION_DEFLATE;
    }
  }
  const end = start + bodyLength;
  buf[end] = kind;
  buf.writeUInt32LE(maskCrc(crc32c(buf.subarray(start, end + 1))), end + 1);
  return bodyLength + BLOCK_TRAILER_BYTES;
}

/**
 * A verified data block, kept as its raw payload (what the block cache holds: no per-entry objects,
 * so the cache fits more blocks and a miss costs one checksum, not a decode). Lookups binary-search
 * the entry-offset array at the payload's end and compare the internal-key string with the key bytes
 * in place. `parse(i)` leaves entry i's fields in the scratch members (valid until the next parse).
 */
export class Block {
  keyStart = 0;
  keyEnd = 0;
  kind = 0;
  valueStart = 0;
  valueEnd = 0;
  /**
   * The buffer `payload` lies in, when that came from BlockCache.takeBuffer: the cache reuses it once
   * the block is evicted. Set before the block is cached, never after.
   */
  storage: Buffer | undefined;

  constructor(readonly payload: Buffer, readonly count: number, private readonly offsetsAt: number) {}

  /** Memory charged to the block cache. */
  get sizeBytes(): number {
    return (this.storage === undefined ? this.payload.length : this.storage.length) + 96;
  }

  parse(i: number): void {
    const b = this.payload;
    const o = this.offsetsAt + 4 * i;
    let p = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
    let keyLen = b[p++];
    if (keyLen >= 0x80) {
      keyLen = readVarint(b, p - 1, this.offsetsAt);
      p = varintEnd;
    }
    this.kind = b[p++];
    let valueLen = b[p++];
    if (valueLen >= 0x80) {
      valueLen = readVarint(b, p - 1, this.offsetsAt);
      p = varintEnd;
    }
    this.keyStart = p;
    this.keyEnd = p + keyLen;
    this.valueStart = this.keyEnd;
    this.valueEnd = this.keyEnd + valueLen;
  }

  /** Sign of (key − key of the parsed entry), comparing latin1 characters with bytes. */
  private compareParsed(key: string): number {
    const b = this.payload;
    const start = this.keyStart;
    const len = this.keyEnd - start;
    const n = key.length < len ? key.length : len;
    for (let j = 0; j < n; j++) {
      const d = key.charCodeAt(j) - b[start + j];
      if (d !== 0) return d;
    }
    return key.length - len;
  }

  /** Index of `key` (its entry left parsed), or -1. */
  find(key: string): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      this.parse(mid);
      const c = this.compareParsed(key);
      if (c > 0) lo = mid + 1;
      else if (c < 0) hi = mid;
      else return mid;
    }
    return -1;
  }

  /** Index of the first key >= `key` (count when none). */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      this.parse(mid);
      if (this.compareParsed(key) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The parsed entry's key as an internal-key string. */
  parsedKey(): string {
    return this.payload.latin1Slice(this.keyStart, this.keyEnd);
  }

  /** A copy of the parsed entry's value (callers may keep or mutate it). */
  copyParsedValue(): Buffer {
    const len = this.valueEnd - this.valueStart;
    const out = Buffer.allocUnsafe(len);
    this.payload.copy(out, 0, this.valueStart, this.valueEnd);
    return out;
  }

  parsedTombstoneTsMs(): number {
    return this.payload.readDoubleLE(this.valueStart);
  }
}

/** Verifies and opens one stored block (`stored` = payload ‖ trailer) found at `offset` of `file`. */
export function openBlock(stored: Buffer, file: string, offset: number): Block {
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
    return checkPayload(payload);
  } catch (err) {
    if (err instanceof RangeError) throw new CorruptTableError(file, offset, `malformed block: ${err.message}`);
    throw err;
  }
}

/**
 * Structure checks that cost no allocation (the checksum already vouches for the bytes; this guards
 * against a writer bug turning into out-of-bounds reads): payload = entries ‖ u32 offset[n] ‖ u32 n,
 * entries back to back, in bounds, of known kinds.
 */
function checkPayload(payload: Buffer): Block {
  if (payload.length < 4) throw new RangeError('payload too short');
  const count = payload.readUInt32LE(payload.length - 4);
  const offsetsAt = payload.length - 4 - 4 * count;
  if (count === 0 || offsetsAt < 0) throw new RangeError(`bad entry count ${count}`);
  const block = new Block(payload, count, offsetsAt);
  let expectedStart = 0;
  for (let i = 0; i < count; i++) {
    if (payload.readUInt32LE(offsetsAt + 4 * i) !== expectedStart) throw new RangeError(`entry ${i} not where the previous one ended`);
    block.parse(i);
    if (block.valueEnd > offsetsAt) throw new RangeError(`entry ${i} runs past the entries`);
    if (block.kind !== KIND_PUT && block.kind !== KIND_TOMBSTONE) throw new RangeError(`unknown entry kind ${block.kind}`);
    if (block.kind === KIND_TOMBSTONE && block.valueEnd - block.valueStart !== 8) throw new RangeError('tombstone without a timestamp');
    expectedStart = block.valueEnd;
  }
  if (expectedStart !== offsetsAt) throw new RangeError('gap before the offset array');
  return block;
}
