/**
 * Internal keys. The engine orders entries by (partition, key bytes); inside the LSM tree both are
 * folded into one latin1 string: four characters for the partition (unsigned 32-bit, big-endian)
 * followed by one character per key byte. Comparing such strings with `<` compares UTF-16 code units,
 * which for characters 0..255 is exactly unsigned byte order, so the string order is the engine's
 * order — and string comparison, hashing and Map lookups are the fastest things V8 does.
 */

declare global {
  // Node's latin1 fast paths (used by Buffer#toString / #write internally, present in every Node
  // release); called directly because they skip the encoding dispatch on the hottest paths.
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    latin1Write(text: string, offset: number, length: number): number;
  }
}

const PARTITION_PREFIX_CACHE_SIZE = 65536;
const partitionPrefixes: (string | undefined)[] = new Array(PARTITION_PREFIX_CACHE_SIZE);

export function partitionPrefix(partition: number): string {
  if (partition < PARTITION_PREFIX_CACHE_SIZE) {
    const cached = partitionPrefixes[partition];
    if (cached !== undefined) return cached;
    const made = String.fromCharCode(0, 0, partition >>> 8, partition & 0xff);
    partitionPrefixes[partition] = made;
    return made;
  }
  return String.fromCharCode(partition >>> 24, (partition >>> 16) & 0xff, (partition >>> 8) & 0xff, partition & 0xff);
}

/** The latin1 string of some bytes, one character per byte. */
export function bytesToLatin1(bytes: Uint8Array): string {
  if (Buffer.isBuffer(bytes)) return bytes.latin1Slice(0, bytes.length);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).latin1Slice(0, bytes.byteLength);
}

/** where internal keys are assembled before becoming strings (grown on demand, never shrunk) */
let scratch = Buffer.allocUnsafeSlow(256);

/**
 * Built as one flat string (prefix and key bytes written side by side, then one latin1 decode), not
 * as `prefix + key`: concatenation yields a V8 cons string, which every comparison and charCodeAt on
 * the get path (memtable search, bloom hash, index search) would first have to flatten.
 */
export function encodeInternalKey(partition: number, key: Uint8Array): string {
  if (!Number.isInteger(partition) || partition < 0 || partition > 0xffffffff) {
    throw new RangeError(`partition must be an unsigned 32-bit integer, got ${partition}`);
  }
  const n = key.length;
  if (n + 4 > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(n + 4, 2 * scratch.length));
  const s = scratch;
  s[0] = partition >>> 24;
  s[1] = (partition >>> 16) & 0xff;
  s[2] = (partition >>> 8) & 0xff;
  s[3] = partition & 0xff;
  if (n <= 64) for (let i = 0; i < n; i++) s[4 + i] = key[i];
  else s.set(key, 4);
  return s.latin1Slice(0, n + 4);
}

export function internalKeyPartition(internalKey: string): number {
  return (
    internalKey.charCodeAt(0) * 0x1000000 +
    ((internalKey.charCodeAt(1) << 16) | (internalKey.charCodeAt(2) << 8) | internalKey.charCodeAt(3))
  );
}

export function internalKeyUserKey(internalKey: string): Buffer {
  return Buffer.from(internalKey.slice(4), 'latin1');
}

/** The smallest internal key of a partition (used as a scan bound). */
export function partitionLowerBound(partition: number): string {
  return partitionPrefix(partition);
}
