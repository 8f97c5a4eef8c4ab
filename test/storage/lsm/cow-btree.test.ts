import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CowBTree } from '../../../src/storage/lsm/cow-btree.js';

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
