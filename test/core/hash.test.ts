import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_PARTITIONS,
  assertValidPartitionCount,
  hash64,
  hash64BigInt,
  hash64Hex,
  hash64Hi,
  isValidPartitionCount,
  keyBytes,
  murmur3x86_128,
  partitionOf,
} from '../../src/core/hash.js';
import { RingkvError } from '../../src/core/errors.js';

const words = (h: Uint32Array): string => Array.from(h, (w) => w.toString(16).padStart(8, '0')).join(' ');

test('murmur3x86_128 matches published MurmurHash3_x86_128 vectors (seed 0), every tail length', () => {
  // Vectors from the reference implementation's outputs, as h1 h2 h3 h4; inputs are UTF-8.
  const vectors: Array<[string, string]> = [
    ['', '00000000 00000000 00000000 00000000'],
    ['H', 'f69feb5d f45637a0 f45637a0 f45637a0'],
    ['Hello', '2360ae46 5e6336c6 ad45b3f4 ad45b3f4'],
    ['Hello World', '92cafa6a 59653c65 40fffff0 0b3beb9c'],
    ['Hello World!', '6bee9883 eb1be4f5 9dfb7172 ae3fbea9'],
    ['Hello World! Hello Wor', '5e0bfa86 a6c2fe4b 16a426fc 9c59806a'],
    ['Hello World! Hello World! Hello World!', '0097c20b 59c7de4e 21bf2705 76dcfc2f'],
    ['メロスは激', 'e0de0a4c 08c5090b cf2fd9f8 5cc26bea'],
  ];
  for (const [input, expected] of vectors) {
    assert.equal(words(murmur3x86_128(keyBytes(input))), expected, `input ${JSON.stringify(input)}`);
  }
});

test('hash64 is pinned: changing it would move every key to another partition', () => {
  // If this test fails, the hash changed. Do not update the vectors: existing data would be orphaned.
  const pinned: Array<[string, string]> = [
    ['', '0000000000000000'],
    ['a', 'a794933c5556b01b'],
    ['user:42', '681d4381214a3142'],
    ['ringkv', 'd64ed466538b59ce'],
    ['a-much-longer-key-with-more-than-sixteen-bytes', '18149450cb305c78'],
    ['Hello', '2360ae465e6336c6'],
  ];
  for (const [input, hex] of pinned) assert.equal(hash64Hex(keyBytes(input)), hex, `key ${JSON.stringify(input)}`);
  assert.equal(hash64BigInt(keyBytes('Hello')), 0x2360ae465e6336c6n);
  assert.deepEqual(hash64(keyBytes('Hello')), { hi: 0x2360ae46, lo: 0x5e6336c6 });
  assert.equal(hash64Hi(keyBytes('Hello')), 0x2360ae46);
  // partition numbers for a few keys at the default Q
  assert.deepEqual(
    ['a', 'b', 'user:1', 'user:2', 'Hello'].map((k) => partitionOf(keyBytes(k), 256)),
    [167, 217, 74, 174, 0x23],
  );
});

test('hash64 and partitionOf are deterministic and consistent for any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 16 }), (bytes, bits) => {
      const q = 2 ** bits;
      const copy = Uint8Array.from(bytes);
      const h = hash64(bytes);
      assert.deepEqual(hash64(copy), h);
      assert.ok(h.hi >= 0 && h.hi <= 0xffffffff && Number.isInteger(h.hi));
      assert.ok(h.lo >= 0 && h.lo <= 0xffffffff && Number.isInteger(h.lo));
      assert.equal(hash64BigInt(bytes), (BigInt(h.hi) << 32n) | BigInt(h.lo));
      const p = partitionOf(bytes, q);
      assert.ok(Number.isInteger(p) && p >= 0 && p < q);
      assert.equal(p, bits === 0 ? 0 : Math.floor(h.hi / 2 ** (32 - bits)));
      assert.deepEqual(bytes, copy, 'input must not be modified');
    }),
    { numRuns: 300, seed: 1 },
  );
});

test('keys spread evenly over partitions (chi-square sanity) and single-bit changes avalanche', () => {
  const q = 256;
  const keys = 25_600;
  const counts = new Array<number>(q).fill(0);
  for (let i = 0; i < keys; i++) counts[partitionOf(keyBytes(`key-${i}`), q)]++;
  const expected = keys / q;
  const chiSquare = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  // 255 degrees of freedom: mean 255, sd ~22.6; 400 is ~6 sd out.
  assert.ok(chiSquare < 400, `chi-square ${chiSquare.toFixed(1)} too high`);
  assert.ok(Math.min(...counts) > expected * 0.6 && Math.max(...counts) < expected * 1.4);

  // Flipping one input bit should flip about half of the 64 output bits.
  let flipped = 0;
  let trials = 0;
  for (let i = 0; i < 200; i++) {
    const base = keyBytes(`avalanche-${i}`);
    const h = hash64BigInt(base);
    for (let bit = 0; bit < base.length * 8; bit += 7) {
      const changed = Uint8Array.from(base);
      changed[bit >> 3] ^= 1 << (bit & 7);
      let x = h ^ hash64BigInt(changed);
      while (x > 0n) {
        flipped += Number(x & 1n);
        x >>= 1n;
      }
      trials++;
    }
  }
  const mean = flipped / trials;
  assert.ok(mean > 30 && mean < 34, `mean flipped bits ${mean.toFixed(2)} should be close to 32`);
});

test('partition counts must be powers of two in range', () => {
  for (const q of [1, 2, 64, 256, MAX_PARTITIONS]) {
    assert.equal(isValidPartitionCount(q), true, String(q));
    assert.doesNotThrow(() => assertValidPartitionCount(q));
  }
  for (const q of [0, -2, 3, 100, 255, 257, 1.5, NaN, Infinity, MAX_PARTITIONS * 2]) {
    assert.equal(isValidPartitionCount(q), false, String(q));
    assert.throws(
      () => partitionOf(keyBytes('k'), q),
      (e: unknown) => e instanceof RingkvError && e.code === 'BAD_PARAMETER' && e.message.includes(String(q)),
    );
  }
});

test('keyBytes hashes strings as UTF-8 and passes bytes through', () => {
  const bytes = new Uint8Array([0xe2, 0x82, 0xac]);
  assert.deepEqual(keyBytes('€'), bytes);
  assert.equal(keyBytes(bytes), bytes);
  assert.equal(hash64Hex(keyBytes('€')), hash64Hex(bytes));
});
