import test from 'node:test';
import assert from 'node:assert/strict';
import type { ResetWhen } from '../../src/sim/sim-network.js';
import { assertHonestUnknownOutcome, bytesValues, counterValue, describeError, enc, RegressionCluster } from './kit.js';

/**
 * Issue 8, case 3: a write through a node that is not a replica of the key is forwarded to a
 * replica. The connection resets after the forward was delivered: the replica applies the write, the
 * reply is lost, the forwarding node learns CONNECTION_LOST. The write must not be applied twice
 * (no retry may mint it again), and a failure must say the write may have been applied.
 */
async function setup(key: string): Promise<{ c: RegressionCluster; via: string }> {
  const c = await RegressionCluster.start({ nodeCount: 4 });
  const replicas = c.replicasOf(key);
  const via = c.cluster.nodeIds.find((id) => !replicas.includes(id));
  assert.ok(via, `every node is a replica of ${key}`);
  return { c, via };
}

function resetFirstForward(c: RegressionCluster, via: string, resetWhen: ResetWhen) {
  return c.cluster.network.addRule({ match: (m) => m.from === via && m.msg.type === 'coordinate_write', action: 'reset', resetWhen, times: 1 });
}

for (const resetWhen of ['after-handler', 'on-delivery'] as const) {
  test(`case 3 (${resetWhen}): one forwarded INCR 1 whose connection resets after delivery never counts twice`, async () => {
    const { c, via } = await setup('ctr');
    const rule = resetFirstForward(c, via, resetWhen);
    const out = await c.call(via, (n) => n.increment(enc('ctr'), 1n, { w: 2 }));
    assert.equal(rule.fired, 1, 'the forward was not reset: the test did not exercise the case');
    if (out.error !== undefined) assertHonestUnknownOutcome(out.error, 'INCR 1');
    else assert.equal(out.value, 1n, `one INCR 1 answered ${out.value}`);
    await c.settle(3000);
    assert.equal(counterValue(await c.read(via, 'ctr')), 1n, 'the replica applied the increment once (it was delivered): the counter must read 1');
    await c.cluster.stopAll();
  });

  test(`case 3 (${resetWhen}): one forwarded PUT whose connection resets after delivery leaves one version`, async () => {
    const { c, via } = await setup('k');
    const rule = resetFirstForward(c, via, resetWhen);
    const out = await c.call(via, (n) => n.put(enc('k'), enc('v'), { w: 2 }));
    assert.equal(rule.fired, 1);
    if (out.error !== undefined) assertHonestUnknownOutcome(out.error, 'PUT');
    await c.settle(3000);
    const values = bytesValues(await c.read(via, 'k'));
    assert.deepEqual(values, ['v'], `one PUT left ${JSON.stringify(values)}${out.error ? ` (it failed with ${describeError(out.error)})` : ''}`);
    await c.cluster.stopAll();
  });
}
