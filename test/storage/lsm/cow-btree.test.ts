import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CowBTree, keyPrefix } from '../../../src/storage/lsm/cow-btree.js';

function drain(cursor: { valid: boolean; key: string; value: number | undefined; next(): void }): [string, number][] {
  const out: [string, number][] = [];
  for (; cursor.valid; cursor.next()) out.push([cursor.key, cursor.value!]);
  return out;
}

test('CowBTree: ordered like a sorted map, and snapshots never see later writes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.integer()), { maxLength: 600 }),
      fc.nat({ max: 600 }),
      fc.string({ maxLength: 3 }),
      (writes, snapshotAt, seekKey) => {
        const tree = new CowBTree<number>();
        const model = new Map<string, number>();
        let snapshot: ReturnType<CowBTree<number>['snapshot']> | undefined;
        let snapshotModel: Map<string, number> | undefined;
        writes.forEach(([k, v], i) => {
          if (i === snapshotAt) {
            snapshot = tree.snapshot();
            snapshotModel = new Map(model);
          }
          assert.equal(tree.set(k, v), model.get(k));
          model.set(k, v);
        });
        const sorted = [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        assert.equal(tree.size, model.size);
        assert.deepEqual(drain(tree.cursor()), sorted);
        assert.deepEqual(drain(tree.cursor(seekKey)), sorted.filter(([k]) => k >= seekKey));
        for (const [k, v] of model) assert.equal(tree.get(k), v);
        if (snapshot && snapshotModel) {
          const snapSorted = [...snapshotModel.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
          assert.deepEqual(drain(snapshot.cursor()), snapSorted);
          assert.equal(snapshot.size, snapshotModel.size);
          for (const [k, v] of snapshotModel) assert.equal(snapshot.get(k), v);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('CowBTree keyPrefix orders like the keys: a smaller prefix means a smaller key, a smaller key never a larger prefix', () => {
  const char = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 250, max: 260 }), fc.integer({ min: 0, max: 0xffff }));
  const key = fc.oneof(
    fc.array(char, { maxLength: 12 }).map((cs) => String.fromCharCode(...cs)),
    // internal-key shaped: a zero-led partition, then bytes
    fc.tuple(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }), fc.integer({ min: 0, max: 3 })).map(([bytes, p]) => String.fromCharCode(0, 0, 0, p, ...bytes)),
  );
  fc.assert(
    fc.property(key, key, (a, b) => {
      const pa = keyPrefix(a);
      const pb = keyPrefix(b);
      assert.ok(Number.isSafeInteger(pa) && Number.isSafeInteger(pb));
      if (pa < pb) assert.ok(a < b, `${JSON.stringify(a)} ${pa} vs ${JSON.stringify(b)} ${pb}`);
      if (a < b) assert.ok(pa <= pb, `${JSON.stringify(a)} ${pa} vs ${JSON.stringify(b)} ${pb}`);
    }),
    { numRuns: 20000 },
  );
});

test('CowBTree: ordered like a sorted map with keys of any characters (ties of keyPrefix included)', () => {
  const char = fc.oneof(fc.constant(0), fc.integer({ min: 250, max: 260 }), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.array(char, { maxLength: 10 }).map((cs) => String.fromCharCode(...cs)), fc.integer()), { maxLength: 400 }), (writes) => {
      const tree = new CowBTree<number>();
      const model = new Map<string, number>();
      for (const [k, v] of writes) {
        assert.equal(tree.set(k, v), model.get(k));
        model.set(k, v);
      }
      const sorted = [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      assert.deepEqual(drain(tree.cursor()), sorted);
      for (const [k, v] of model) assert.equal(tree.get(k), v);
      for (const [k] of writes.slice(0, 20)) assert.deepEqual(drain(tree.cursor(k)), sorted.filter(([x]) => x >= k));
    }),
    { numRuns: 200 },
  );
});
