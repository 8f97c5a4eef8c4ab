import test from 'node:test';
import assert from 'node:assert/strict';
import { counterValue, enc, RegressionCluster } from './kit.js';

/**
 * Issue 8, case 2: DEL on a counter removes exactly the increments its read observed, and an INCR
 * after an acknowledged DEL counts from zero through any node — however stale that node's copy.
 */
test('case 2: five INCR 1 at w=3, DEL at w=2 while n3 is cut off, heal: INCR 1 through n3 answers 1 and a later r=3 read shows 1', async () => {
  const c = await RegressionCluster.start({ nodeCount: 3 });
  for (let i = 1n; i <= 5n; i++) assert.equal(await c.ok('n1', (n) => n.increment(enc('ctr'), 1n, { w: 3 }), 'INCR 1'), i);
  const seen = await c.read('n1', 'ctr');
  assert.equal(counterValue(seen), 5n);
  c.cluster.partition(['n3']);
  await c.ok('n1', (n) => n.delete(enc('ctr'), { w: 2, context: seen.context }), 'DEL with the read context');
  c.cluster.network.heal();
  const answer = await c.ok('n3', (n) => n.increment(enc('ctr'), 1n), 'INCR 1 through n3');
  assert.equal(answer, 1n, 'the deleted total came back (Redis answers 1)');
  await c.settle();
  assert.equal(counterValue(await c.read('n1', 'ctr')), 1n);
  await c.cluster.stopAll();
});
