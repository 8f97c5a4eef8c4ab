import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeInternalKey } from '../../../src/storage/lsm/internal-key.js';
import { sortedOrder } from '../../../src/storage/lsm/key-sort.js';

function inputs(entries: { partition: number; key: Uint8Array }[]): { keys: string[]; partitions: Float64Array; heads: Float64Array } {
  const keys = entries.map((e) => encodeInternalKey(e.partition, e.key));
  const partitions = Float64Array.from(entries.map((e) => e.partition));
  const heads = Float64Array.from(
    entries.map((e) => {
      let h = 0;
      for (let j = 0; j < 6; j++) h = h * 256 + (j < e.key.length ? e.key[j] : 0);
      return h;
    }),
  );
  return { keys, partitions, heads };
}

test('sortedOrder orders distinct internal keys exactly like a string sort (short keys, shared prefixes, 0x00 and 0xff bytes, big partitions)', () => {
  const keyArb = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 9 }),
    fc.uint8Array({ minLength: 0, maxLength: 4 }).map((tail) => Uint8Array.from([...Buffer.from('user:0'), ...tail])),
    fc.constantFrom(Uint8Array.from([]), Uint8Array.from([0]), Uint8Array.from([0, 0]), Uint8Array.from([255]), Uint8Array.from([255, 255, 255, 255, 255, 255, 255])),
  );
  const partitionArb = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(255, 256, 65535, 0xffffffff));
  fc.assert(
    fc.property(fc.uniqueArray(fc.record({ partition: partitionArb, key: keyArb }), { selector: (e) => encodeInternalKey(e.partition, e.key), maxLength: 300 }), (entries) => {
      const { keys, partitions, heads } = inputs(entries);
      const got = [...sortedOrder(keys, partitions, heads)].map((i) => keys[i]);
      assert.deepEqual(got, [...keys].sort());
    }),
    { numRuns: 300 },
  );
});

test('sortedOrder: many keys sharing their first six bytes still sort right', () => {
  const entries = Array.from({ length: 2000 }, (_, i) => ({ partition: i % 3, key: Buffer.from(`prefix-${(i * 7919) % 2000}`) }));
  const { keys, partitions, heads } = inputs(entries);
  assert.deepEqual([...sortedOrder(keys, partitions, heads)].map((i) => keys[i]), [...keys].sort());
});
