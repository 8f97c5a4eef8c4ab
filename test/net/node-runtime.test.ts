import test from 'node:test';
import assert from 'node:assert/strict';
import { createNodeClock, createNodeRandom } from '../../src/net/node-runtime.js';
import { RingkvError } from '../../src/core/errors.js';

test('node clock: nowMs is wall time, timers fire once and can be cancelled', async () => {
  const clock = createNodeClock();
  const before = Date.now();
  const now = clock.nowMs();
  assert.ok(now >= before && now <= Date.now());
  const fired: string[] = [];
  clock.setTimer(5, () => fired.push('a'));
  const cancelled = clock.setTimer(5, () => fired.push('b'));
  clock.setTimer(0, () => fired.push('c'));
  clock.setTimer(-10, () => fired.push('d'));
  cancelled.cancel();
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.deepEqual(fired.sort(), ['a', 'c', 'd']);
});

test('node clock: a delay beyond the 32-bit timer range does not fire early', async () => {
  const clock = createNodeClock();
  let fired = false;
  const handle = clock.setTimer(2 ** 31 + 1000, () => (fired = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(fired, false);
  handle.cancel();
});

test('node random: next in [0,1), int in [0,max), bad bounds refused', () => {
  const random = createNodeRandom();
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const x = random.next();
    assert.ok(x >= 0 && x < 1);
    const k = random.int(5);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 5);
    seen.add(k);
  }
  assert.equal(seen.size, 5);
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => random.int(bad), (e) => e instanceof RingkvError && e.code === 'BAD_PARAMETER');
});
