import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pnAdd, pnMerge, pnValue, type PnCounter } from '../../../src/core/version/pn-counter.js';

test('concurrent increments on different nodes all count after merge, in any merge order', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: -1000, max: 1000 })), { maxLength: 30 }), (ops) => {
      const per: Record<string, PnCounter> = { a: [], b: [], c: [] };
      let expected = 0n;
      for (const [node, d] of ops) {
        per[node] = pnAdd(per[node], node, BigInt(d));
        expected += BigInt(d);
      }
      assert.equal(pnValue(pnMerge(pnMerge(per.a, per.b), per.c)), expected);
      assert.equal(pnValue(pnMerge(per.c, pnMerge(per.b, per.a))), expected);
      assert.deepEqual(pnMerge(per.a, per.a), per.a);
    }),
  );
});

test('overflow past int64 is refused', () => {
  assert.throws(() => pnAdd([], 'a', (1n << 63n)));
  assert.equal(pnValue(pnAdd([], 'a', (1n << 63n) - 1n)), (1n << 63n) - 1n);
});
