import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c, maskCrc, unmaskCrc } from '../../src/storage/crc32c.js';

/** Bit-at-a-time reference, straight from the definition (reflected polynomial 0x82F63B78). */
function referenceCrc32c(data: Uint8Array, initial = 0): number {
  let crc = ~initial >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('crc32c: published check values', () => {
  assert.equal(crc32c(ascii('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  // RFC 3720 (iSCSI) B.4 test vectors
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('crc32c: matches the bitwise reference for any input, offset and initial value', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(16), fc.integer({ min: 0, max: 0xffffffff }), (bytes, skip, initial) => {
      // a subarray with an odd byteOffset exercises the unaligned path of slicing-by-8
      const view = bytes.subarray(Math.min(skip, bytes.length));
      assert.equal(crc32c(view, initial), referenceCrc32c(view, initial));
    }),
    { numRuns: 300 },
  );
});

test('crc32c: chaining equals one pass over the concatenation', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
      const ab = new Uint8Array(a.length + b.length);
      ab.set(a);
      ab.set(b, a.length);
      assert.equal(crc32c(b, crc32c(a)), crc32c(ab));
    }),
  );
});

test('crc32c: a single flipped bit always changes the checksum', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.nat(7), (bytes, at, bit) => {
      const flipped = bytes.slice();
      flipped[at % bytes.length] ^= 1 << bit;
      assert.notEqual(crc32c(flipped), crc32c(bytes));
    }),
  );
});

test('maskCrc: round-trips, and a zero checksum is stored as non-zero', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (crc) => {
      const masked = maskCrc(crc);
      assert.ok(masked >= 0 && masked <= 0xffffffff);
      assert.equal(unmaskCrc(masked), crc);
    }),
  );
  assert.notEqual(maskCrc(0), 0);
});
