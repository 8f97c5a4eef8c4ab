import test from 'node:test';
import assert from 'node:assert/strict';
import { bytesValues, enc, RegressionCluster } from './kit.js';

/**
 * Issue 8, case 4: the context a PUT returns supersedes that PUT's own version on every replica,
 * including one that had not received it yet when the next write arrived.
 */
test('case 4: PUT v1 through n1, PUT v2 with its context through n2 before n2 has v1: after healing, an r=3 read returns exactly [v2]', async () => {
  const c = await RegressionCluster.start({ nodeCount: 3 });
  const held = c.cluster.network.addRule({ match: (m) => m.from === 'n1' && m.to === 'n2', action: 'hold' });
  const first = await c.ok('n1', (n) => n.put(enc('k'), enc('v1'), { w: 2 }), 'PUT v1');
  assert.ok(held.fired > 0, 'the replication of v1 to n2 was not held back');
  await c.ok('n2', (n) => n.put(enc('k'), enc('v2'), { w: 2, context: first.context }), 'PUT v2 with the context PUT v1 returned');
  held.release();
  await c.settle();
  assert.deepEqual(bytesValues(await c.read('n3', 'k')), ['v2']);
  await c.settle();
  assert.deepEqual(bytesValues(await c.read('n1', 'k')), ['v2'], 'and it stays so once read repair ran');
  await c.cluster.stopAll();
});
