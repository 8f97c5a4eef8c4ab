/**
 * Key hashing for the ring: MurmurHash3 x86_128 (Austin Appleby's public-domain design) written
 * with Math.imul so it runs on 32-bit integers only — no BigInt on the hot path. We use the first
 * 64 bits of its output (words h1:h2). The function and its seed are part of the on-disk and
 * on-wire contract: changing either moves every key to another partition, so tests pin vectors.
 */
import { RingkvError } from './errors.js';

/** A 64-bit hash as two unsigned 32-bit halves. */
export interface Hash64 {
  /** upper 32 bits, unsigned */
  hi: number;
  /** lower 32 bits, unsigned */
  lo: number;
}

/** The most partitions a ring may have; partition numbers come from the top bits of `hi`. */
export const MAX_PARTITIONS = 1 << 16;

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** MurmurHash3's 32-bit finalizer: a bijective avalanche mix (result is signed; use >>> 0 for unsigned). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function readU32LE(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

/**
 * MurmurHash3_x86_128 of `key` with `seed`; writes the four unsigned 32-bit words h1..h4 into
 * `out` (so hot callers can reuse one buffer) and returns it.
 */
export function murmur3x86_128(key: Uint8Array, seed = 0, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  const len = key.length;
  const blockBytes = len & ~15;
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;

  for (let i = 0; i < blockBytes; i += 16) {
    let k1 = readU32LE(key, i);
    let k2 = readU32LE(key, i + 4);
    let k3 = readU32LE(key, i + 8);
    let k4 = readU32LE(key, i + 12);

    k1 = Math.imul(rotl32(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = rotl32(h1, 19);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(rotl32(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = rotl32(h2, 17);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(rotl32(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = rotl32(h3, 15);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(rotl32(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = rotl32(h4, 13);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }

  // Tail: the reference implementation's fall-through switch, one lane at a time.
  const tail = len & 15;
  const t = blockBytes;
  if (tail > 12) {
    let k4 = 0;
    for (let j = tail - 1; j >= 12; j--) k4 = (k4 << 8) | key[t + j];
    h4 ^= Math.imul(rotl32(Math.imul(k4, C4), 18), C1);
  }
  if (tail > 8) {
    let k3 = 0;
    for (let j = Math.min(tail, 12) - 1; j >= 8; j--) k3 = (k3 << 8) | key[t + j];
    h3 ^= Math.imul(rotl32(Math.imul(k3, C3), 17), C4);
  }
  if (tail > 4) {
    let k2 = 0;
    for (let j = Math.min(tail, 8) - 1; j >= 4; j--) k2 = (k2 << 8) | key[t + j];
    h2 ^= Math.imul(rotl32(Math.imul(k2, C2), 16), C3);
  }
  if (tail > 0) {
    let k1 = 0;
    for (let j = Math.min(tail, 4) - 1; j >= 0; j--) k1 = (k1 << 8) | key[t + j];
    h1 ^= Math.imul(rotl32(Math.imul(k1, C1), 15), C2);
  }

  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;

  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
  return out;
}

// One scratch buffer for the allocation-free helpers below (single-threaded, never re-entered).
const scratch = new Uint32Array(4);

/** The 64-bit key hash as two unsigned 32-bit halves. */
export function hash64(key: Uint8Array): Hash64 {
  murmur3x86_128(key, 0, scratch);
  return { hi: scratch[0], lo: scratch[1] };
}

/** The upper 32 bits of hash64(key), unsigned, without allocating. */
export function hash64Hi(key: Uint8Array): number {
  return murmur3x86_128(key, 0, scratch)[0];
}

/** hash64 as one unsigned bigint — for tests and display, not the hot path. */
export function hash64BigInt(key: Uint8Array): bigint {
  const { hi, lo } = hash64(key);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** hash64 as 16 lowercase hex digits. */
export function hash64Hex(key: Uint8Array): string {
  const { hi, lo } = hash64(key);
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

const utf8 = new TextEncoder();

/** Keys arrive as strings from some front ends; the ring always hashes their UTF-8 bytes. */
export function keyBytes(key: Uint8Array | string): Uint8Array {
  return typeof key === 'string' ? utf8.encode(key) : key;
}

/** True when q is a supported partition count: a power of two from 1 to MAX_PARTITIONS. */
export function isValidPartitionCount(q: number): boolean {
  return Number.isInteger(q) && q >= 1 && q <= MAX_PARTITIONS && (q & (q - 1)) === 0;
}

/** Throws BAD_PARAMETER unless q is a power of two from 1 to MAX_PARTITIONS. */
export function assertValidPartitionCount(q: number): void {
  if (!isValidPartitionCount(q)) {
    throw new RingkvError(
      'BAD_PARAMETER',
      `partitions must be a power of two between 1 and ${MAX_PARTITIONS}, got ${String(q)}`,
      { partitions: q },
    );
  }
}

/**
 * The partition a key belongs to: the top log2(partitions) bits of its hash, so partition p covers
 * the hash range [p, p+1) * 2^64 / partitions and partitions are equal slices of the ring.
 */
export function partitionOf(key: Uint8Array, partitions: number): number {
  assertValidPartitionCount(partitions);
  if (partitions === 1) return 0;
  const bits = 31 - Math.clz32(partitions);
  return hash64Hi(key) >>> (32 - bits);
}
