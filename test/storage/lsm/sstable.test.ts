import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimFS } from '../../../src/storage/fs/sim-fs.js';
import { BlockCache } from '../../../src/storage/lsm/block-cache.js';
import { bloomHash1, bloomHash2, BloomFilter, buildBloom } from '../../../src/storage/lsm/bloom-filter.js';
import { pickSizeTieredRun } from '../../../src/storage/lsm/compaction.js';
import { bytesToLatin1, encodeInternalKey, internalKeyPartition, internalKeyUserKey } from '../../../src/storage/lsm/internal-key.js';
import { CorruptTableError, KIND_TOMBSTONE } from '../../../src/storage/lsm/sstable-format.js';
import { SstableReader, TableCursor } from '../../../src/storage/lsm/sstable-reader.js';
import { SstableWriter } from '../../../src/storage/lsm/sstable-writer.js';
import { compareEntryKeys } from '../../../src/storage/engine.js';

test('internal keys order exactly like compareEntryKeys and round-trip', () => {
  const entry = fc.tuple(fc.oneof(fc.nat({ max: 70000 }), fc.constant(0xffffffff)), fc.uint8Array({ maxLength: 6 }));
  fc.assert(
    fc.property(entry, entry, ([pa, ka], [pb, kb]) => {
      const a = encodeInternalKey(pa, ka);
      const b = encodeInternalKey(pb, kb);
      const want = Math.sign(compareEntryKeys(pa, ka, pb, kb));
      assert.equal(a < b ? -1 : a > b ? 1 : 0, want);
      assert.equal(internalKeyPartition(a), pa);
      assert.deepEqual(Uint8Array.from(internalKeyUserKey(a)), Uint8Array.from(ka));
    }),
  );
  assert.equal(bytesToLatin1(new Uint8Array([0, 255, 128])), '\u0000\u00ff\u0080');
  assert.throws(() => encodeInternalKey(-1, new Uint8Array()));
});

test('bloom filter: no false negatives, about 1% false positives at 10 bits per key', () => {
  const n = 5000;
  const h1 = new Uint32Array(n);
  const h2 = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    h1[i] = bloomHash1(`member-${i}`);
    h2[i] = bloomHash2(`member-${i}`);
  }
  const bloom = new BloomFilter(buildBloom(h1, h2, n));
  for (let i = 0; i < n; i++) assert.ok(bloom.mayContain(bloomHash1(`member-${i}`), bloomHash2(`member-${i}`)));
  let fp = 0;
  const probes = 20000;
  for (let i = 0; i < probes; i++) if (bloom.mayContain(bloomHash1(`other-${i}`), bloomHash2(`other-${i}`))) fp++;
  assert.ok(fp / probes < 0.02, `false-positive rate ${fp / probes}`);
});

test('bloom filter: probe i sets bit (h1 + i·h2) mod m (the stored format); a filter grown by add answers alike', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 40 }), (h1, h2odd, keys) => {
      const h2 = (h2odd | 1) >>> 0;
      const serialized = buildBloom(new Uint32Array(keys).fill(h1), new Uint32Array(keys).fill(h2), keys);
      const bits = serialized.subarray(1);
      const m = bits.length * 8;
      const expected = new Uint8Array(bits.length);
      for (let i = 0; i < serialized[0]; i++) {
        const bit = (h1 + i * h2) % m;
        expected[bit >>> 3] |= 1 << (bit & 7);
      }
      assert.deepEqual(bits, expected);
      const grown = BloomFilter.forKeys(keys);
      grown.add(h1, h2);
      assert.ok(grown.mayContain(h1, h2));
      assert.equal(new BloomFilter(serialized).mayContain(h1, h2), true);
    }),
    { numRuns: 300 },
  );
});

async function writeTable(fs: SimFS, entries: [string, Uint8Array | null][], blockSizeBytes = 256, compression: 'none' | 'deflate' = 'none'): Promise<SstableReader> {
  const w = await SstableWriter.create(fs, '/t/1.sst', { blockSizeBytes, compression, createdAtMs: 1 });
  for (const [k, v] of entries) {
    const p = v === null ? w.addTombstone(k, 1234.5) : w.addPut(k, v);
    if (p) await p;
  }
  await w.finish();
  return SstableReader.open(fs, '/t/1.sst', '1.sst', new BlockCache(1 << 20));
}

test('sstable: every key found with its value, absent keys not, cursors see everything in order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12, unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) }), { minLength: 1, maxLength: 300 }),
      fc.constantFrom('none' as const, 'deflate' as const),
      async (keys, compression) => {
        keys.sort();
        const fs = new SimFS();
        await fs.mkdirp('/t');
        const entries: [string, Uint8Array | null][] = keys.map((k, i) => [k, i % 7 === 3 ? null : Buffer.from(`v${i}`.repeat(1 + (i % 5)))]);
        const table = await writeTable(fs, entries, 256, compression);
        for (let i = 0; i < entries.length; i++) {
          const [k, v] = entries[i];
          const block = await table.loadBlock(table.blockFor(k));
          const at = block.find(k);
          assert.ok(at >= 0, `key ${JSON.stringify(k)} found`);
          if (v === null) {
            assert.equal(block.kind, KIND_TOMBSTONE);
            assert.equal(block.parsedTombstoneTsMs(), 1234.5);
          } else assert.deepEqual(Uint8Array.from(block.copyParsedValue()), Uint8Array.from(v));
          const absent = `${k}\u0000`;
          if (!keys.includes(absent)) {
            const b = table.blockFor(absent);
            assert.equal(b < 0 ? -1 : (await table.loadBlock(b)).find(absent), -1);
          }
        }
        const c = await TableCursor.open(table, undefined);
        const seen: string[] = [];
        while (c.valid) {
          seen.push(c.key);
          const p = c.next();
          if (p) await p;
        }
        assert.deepEqual(seen, keys);
        const from = keys[Math.floor(keys.length / 2)];
        const c2 = await TableCursor.open(table, from);
        assert.equal(c2.key, from);
      },
    ),
    { numRuns: 60 },
  );
});

test('sstable: a flipped bit anywhere is caught (at open or at the block read)', async () => {
  const fs = new SimFS();
  await fs.mkdirp('/t');
  const entries: [string, Uint8Array][] = Array.from({ length: 100 }, (_, i) => [`key-${String(i).padStart(3, '0')}`, Buffer.from(`value-${i}`)]);
  const size = (await writeTable(fs, entries)).sizeBytes;
  for (let offset = 0; offset < size; offset += 7) {
    fs.flipBit('/t/1.sst', offset, offset % 8);
    let caught = false;
    try {
      const t = await SstableReader.open(fs, '/t/1.sst', '1.sst', new BlockCache(0));
      for (let b = 0; b < t.blockCount; b++) await t.loadBlock(b);
    } catch (err) {
      assert.ok(err instanceof CorruptTableError, String(err));
      caught = true;
    }
    assert.ok(caught, `flip at offset ${offset} of ${size} went unnoticed`);
    fs.flipBit('/t/1.sst', offset, offset % 8);
  }
});

test('size-tiered picking merges runs of similar adjacent tables only', () => {
  const opts = { minTables: 4, maxTables: 32, smallTableBytes: 100 };
  assert.equal(pickSizeTieredRun([1000, 1000, 1000], opts), undefined);
  assert.deepEqual(pickSizeTieredRun([10, 50, 90, 100, 5000], opts), { start: 0, end: 4 });
  assert.deepEqual(pickSizeTieredRun([5000, 1000, 1100, 900, 1000, 20000], opts), { start: 1, end: 5 });
  assert.equal(pickSizeTieredRun([1000, 3000, 9000, 27000], opts), undefined);
});
