/**
 * Bloom filter with double hashing (Kirsch–Mitzenmacher): probe i is h1 + i·h2 mod m. 10 bits per key
 * and 7 probes give about 0.8 % false positives, close to Cassandra's default chance of 0.01.
 * The two 32-bit hashes are computed once per lookup and reused for every SSTable's filter.
 */
export const BLOOM_BITS_PER_KEY = 10;
export const BLOOM_PROBES = 7;

/** murmur3-style 32-bit hash of a latin1 string's characters. */
export function hashKey(key: string, seed: number): number {
  let h = seed | 0;
  const n = key.length;
  for (let i = 0; i < n; i++) {
    let k = Math.imul(key.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const SEED_1 = 0x9747b28c;
const SEED_2 = 0x2545f491;

export function bloomHash1(key: string): number {
  return hashKey(key, SEED_1);
}

export function bloomHash2(key: string): number {
  // odd, so the probe sequence walks through every bit position when m is a power of two
  return (hashKey(key, SEED_2) | 1) >>> 0;
}

/** An empty serialized filter sized for `keys` keys. */
function emptyBloom(keys: number): Uint8Array {
  const bitCount = Math.max(64, keys * BLOOM_BITS_PER_KEY);
  const out = new Uint8Array(1 + Math.ceil(bitCount / 8));
  out[0] = BLOOM_PROBES;
  return out;
}

/**
 * Probe i is at (h1 + i·h2) mod m, stepped without a modulo per probe: bit < m and step < m, so one
 * subtraction keeps bit + step below m. (The same positions as the formula, which tables store.)
 */
function setProbes(bits: Uint8Array, probes: number, h1: number, h2: number): void {
  const m = bits.length * 8;
  const step = h2 % m;
  let bit = h1 % m;
  for (let i = 0; i < probes; i++) {
    bits[bit >>> 3] |= 1 << (bit & 7);
    bit += step;
    if (bit >= m) bit -= m;
  }
}

/** The serialized filter: [u8 probes][bits…]; m = 8 · bits.length. */
export function buildBloom(h1s: Uint32Array, h2s: Uint32Array, count: number): Uint8Array {
  const out = emptyBloom(count);
  const bits = out.subarray(1);
  for (let j = 0; j < count; j++) setProbes(bits, BLOOM_PROBES, h1s[j], h2s[j]);
  return out;
}

export class BloomFilter {
  private readonly bits: Uint8Array;
  private readonly probes: number;
  private readonly m: number;

  constructor(serialized: Uint8Array) {
    if (serialized.length < 2 || serialized[0] < 1 || serialized[0] > 30) throw new RangeError('malformed bloom filter');
    this.probes = serialized[0];
    this.bits = serialized.subarray(1);
    this.m = this.bits.length * 8;
  }

  /** An empty filter to `add` to, sized for `keys` keys (more only raise its false-positive rate). */
  static forKeys(keys: number): BloomFilter {
    return new BloomFilter(emptyBloom(keys));
  }

  add(h1: number, h2: number): void {
    setProbes(this.bits, this.probes, h1, h2);
  }

  mayContain(h1: number, h2: number): boolean {
    const bits = this.bits;
    const m = this.m;
    const step = h2 % m;
    let bit = h1 % m;
    for (let i = 0; i < this.probes; i++) {
      if ((bits[bit >>> 3] & (1 << (bit & 7))) === 0) return false;
      bit += step;
      if (bit >= m) bit -= m;
    }
    return true;
  }

  get sizeBytes(): number {
    return this.bits.length + 1;
  }
}
