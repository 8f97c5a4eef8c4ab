import test from 'node:test';
import assert from 'node:assert/strict';
import { RecentWrites } from '../../src/cluster/recent-writes.js';
import { RingkvError } from '../../src/core/errors.js';

const k = (s: string) => Buffer.from(s);
const dot = (c: number) => ({ node: 'n1#abc', counter: c });

test('a write id mints once; a duplicate gets the first dot', async () => {
  const rw = new RecentWrites({ maxBytes: 1 << 20, maxAgeMs: 1000 });
  let mints = 0;
  const mint = async () => dot(++mints);
  const a = rw.mintOnce('w1', 3, k('key'), 0, mint);
  const b = rw.mintOnce('w1', 3, k('key'), 1, mint); // while the first still runs
  assert.equal(a.first, true);
  assert.equal(b.first, false);
  assert.deepEqual(await a.dot, dot(1));
  assert.deepEqual(await b.dot, dot(1));
  assert.deepEqual(await rw.mintOnce('w1', 3, k('key'), 2, mint).dot, dot(1));
  assert.equal(mints, 1);
});

test('a failed mint forgets its id, so a retry may mint', async () => {
  const rw = new RecentWrites({ maxBytes: 1 << 20, maxAgeMs: 1000 });
  await assert.rejects(rw.mintOnce('w', 0, k('key'), 0, async () => Promise.reject(new Error('disk full'))).dot);
  assert.deepEqual(await rw.mintOnce('w', 0, k('key'), 0, async () => dot(7)).dot, dot(7));
});

test('an id used for another key is refused', async () => {
  const rw = new RecentWrites({ maxBytes: 1 << 20, maxAgeMs: 1000 });
  rw.record('w', 0, k('a'), dot(1), 0);
  assert.throws(() => rw.mintOnce('w', 0, k('b'), 0, async () => dot(2)), (e: unknown) => e instanceof RingkvError && e.code === 'BAD_PARAMETER' && /another key/.test(e.message));
});

// case 9 of the causality review: the dedup cache kept 10,000 whole objects, unbounded in bytes and age
test('memory is bounded by bytes (oldest forgotten first) and by age; both are counted', async () => {
  const rw = new RecentWrites({ maxBytes: 4096, maxAgeMs: 1000 });
  for (let i = 0; i < 200; i++) rw.record(`id-${i}`, 0, k(`key-${i}`), dot(i + 1), i);
  const s = rw.stats();
  assert.ok(s.bytes <= 4096, `bytes ${s.bytes}`);
  assert.ok(s.evictedForBytes > 0 && s.entries < 200);
  assert.equal(rw.get('id-0', 200), undefined, 'the oldest went first');
  assert.ok(rw.get('id-199', 200));
  assert.equal(rw.get('id-199', 1200), undefined, 'expired');
  assert.ok(rw.stats().expired > 0);
  assert.equal(rw.stats().entries, 0);
});

test('a mint still running is never evicted, whatever the byte bound', async () => {
  const rw = new RecentWrites({ maxBytes: 1, maxAgeMs: 10 });
  let release!: (d: { node: string; counter: number }) => void;
  const first = rw.mintOnce('slow', 0, k('key'), 0, () => new Promise((r) => (release = r)));
  for (let i = 0; i < 10; i++) rw.record(`other-${i}`, 0, k(`k${i}`), dot(i + 1), 100);
  const again = rw.mintOnce('slow', 0, k('key'), 100, async () => dot(99));
  assert.equal(again.first, false);
  release(dot(5));
  assert.deepEqual(await first.dot, dot(5));
  assert.deepEqual(await again.dot, dot(5));
});
