import test from 'node:test';
import assert from 'node:assert/strict';
import { bytesValues, counterValue, enc, RegressionCluster } from './kit.js';

/**
 * Issue 8, case 1: a replica whose stored state goes backwards must not reuse dots. n1 runs the LSM
 * engine in `periodic` sync mode (fsync every second here, so the test controls what is durable),
 * acknowledges writes, crashes before they reach the disk, and comes back without them. Writes it
 * then coordinates must not collide with the versions it had handed out before (Riak's kv679).
 */
const PERIODIC = { engine: 'lsm', syncMode: 'periodic', periodicSyncMs: 1000, memtableSizeBytes: 1 << 20 } as const;

test('case 1: after n1 loses its last write in a crash, a blind PUT acknowledged with w=3 appears in a later r=3 read', async () => {
  const c = await RegressionCluster.start({ nodeCount: 3, storage: PERIODIC });
  await c.ok('n1', (n) => n.put(enc('k'), enc('a'), { w: 3 }), 'PUT a');
  await c.settle(1500); // n1's periodic fsync covers a
  await c.ok('n1', (n) => n.put(enc('k'), enc('b'), { w: 3 }), 'PUT b');
  c.cluster.crash('n1'); // before the next fsync: n1 loses b (n2 and n3 keep it)
  await c.cluster.restart('n1');
  await c.ok('n1', (n) => n.put(enc('k'), enc('c'), { w: 3 }), 'PUT c'); // blind: a sibling of a and b
  await c.settle();
  const values = bytesValues(await c.read('n2', 'k')).sort();
  assert.ok(values.includes('c'), `the PUT of c was acknowledged by all three replicas, yet an r=3 read returned ${JSON.stringify(values)}`);
  assert.deepEqual(values, ['a', 'b', 'c'], 'every acknowledged blind write is a sibling');
  await c.cluster.stopAll();
});

test('case 1: 3×INCR 1 then INCR 5 at w=3 across n1 losing two of them: the answer counts every acknowledged increment and a later r=3 read shows at least it', async () => {
  const c = await RegressionCluster.start({ nodeCount: 3, storage: PERIODIC });
  const incr = (delta: bigint) => c.ok('n1', (n) => n.increment(enc('ctr'), delta, { w: 3 }), `INCR ${delta}`);
  assert.equal(await incr(1n), 1n);
  await c.settle(1500); // the first increment is durable on n1
  assert.equal(await incr(1n), 2n);
  assert.equal(await incr(1n), 3n);
  c.cluster.crash('n1'); // n1 loses the last two increments; n2 and n3 hold all three
  await c.cluster.restart('n1');
  const answer = await incr(5n);
  await c.settle();
  const read = counterValue(await c.read('n2', 'ctr'));
  assert.ok(read >= answer, `INCR 5 answered ${answer}, yet a later r=3 read shows ${read}: acknowledged increments vanished`);
  assert.equal(answer, 8n, 'with W + W > N, the INCR answer includes the three acknowledged increments before it (1+1+1+5)');
  assert.equal(read, 8n);
  await c.cluster.stopAll();
});
