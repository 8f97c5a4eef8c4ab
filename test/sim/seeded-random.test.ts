import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeededRandom } from '../../src/sim/seeded-random.js';

function draw(r: SeededRandom, n: number): number[] {
  return Array.from({ length: n }, () => r.nextUint32());
}

test('the same seed gives the same stream; different seeds differ', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
      assert.deepEqual(draw(new SeededRandom(seed), 20), draw(new SeededRandom(seed), 20));
      assert.notDeepEqual(draw(new SeededRandom(seed), 20), draw(new SeededRandom((seed + 1) >>> 0), 20));
    }),
    { numRuns: 200 },
  );
});

test('next() is in [0,1) and int() in range, roughly uniform', () => {
  const r = new SeededRandom(42);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    buckets[r.int(10)]++;
  }
  for (const b of buckets) assert.ok(b > 9_000 && b < 11_000, `bucket count ${b} far from 10000`);
  assert.throws(() => r.int(0), RangeError);
  assert.throws(() => r.int(1.5), RangeError);
  assert.throws(() => new SeededRandom(0.5), RangeError);
});

test('fork depends only on seed and label, not on draws from the parent', () => {
  const a = new SeededRandom(7);
  const b = new SeededRandom(7);
  draw(b, 100);
  assert.deepEqual(draw(a.fork('net'), 10), draw(b.fork('net'), 10));
  assert.notDeepEqual(draw(a.fork('net'), 10), draw(a.fork('disk'), 10));
  assert.notDeepEqual(draw(a.fork('net'), 10), draw(a, 10));
  assert.equal(a.fork('x').fork('y').label, 'x/y');
  assert.notDeepEqual(draw(a.fork('x').fork('y'), 10), draw(a.fork('y').fork('x'), 10));
});

test('helpers: chance, pick, intBetween, exponential', () => {
  const r = new SeededRandom(3);
  assert.equal(r.chance(0), false);
  let hits = 0;
  for (let i = 0; i < 10_000; i++) if (r.chance(0.25)) hits++;
  assert.ok(hits > 2_200 && hits < 2_800, `chance(0.25) hit ${hits} of 10000`);
  for (let i = 0; i < 1000; i++) {
    const v = r.intBetween(3, 5);
    assert.ok(v >= 3 && v <= 5);
  }
  assert.throws(() => r.pick([]), RangeError);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) sum += r.exponential(5);
  assert.ok(Math.abs(sum / 10_000 - 5) < 0.5, `exponential mean ${sum / 10_000}`);
});
