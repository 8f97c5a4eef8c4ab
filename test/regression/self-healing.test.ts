/**
 * Regressions the membership and self-healing simulation families found in the cluster code, each
 * replayed here on its own: SimCluster with the production node, virtual time, a quiet network.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { NODE_KINDS } from '../../src/sim/node-factories.js';
import { SimCluster } from '../../src/sim/sim-cluster.js';

const QUIET = { latencyBaseMs: 1, latencyTailMeanMs: 1, dropProbability: 0, duplicateProbability: 0, resetProbability: 0 };

/** runs the simulation until the promise settles (at most maxMs of virtual time); undefined if it did not */
async function settle<T>(cluster: SimCluster, promise: Promise<T>, maxMs: number): Promise<{ value?: T; error?: unknown } | undefined> {
  let out: { value?: T; error?: unknown } | undefined;
  promise.then(
    (value) => (out = { value }),
    (error: unknown) => (out = { error }),
  );
  await cluster.sim.runUntil(() => out !== undefined, maxMs);
  return out;
}

// Found by the membership family (seed 2): with a replica silent, each scheduled exchange with it
// waits out its timeout while the schedule queues a new one every few ms — the queue grew without
// bound, and a transfer's exchange, queued behind it, waited minutes (the ring change with it)
test('anti-entropy: a silent peer does not pile scheduled exchanges up ahead of an exchange asked for now', async () => {
  const cluster = await SimCluster.create({
    seed: 7,
    nodeCount: 3,
    createNode: NODE_KINDS.cluster.create,
    config: { n: 3, r: 2, w: 2, requestTimeoutMs: 1000, partitions: 16, aaeEnabled: true, aaeExchangePeriodMs: 400, aaeRequestTimeoutMs: 1000 },
    faults: { ...QUIET, refuseProbability: 0, resetOnCrashProbability: 0 },
  });
  cluster.crash('n3');
  await cluster.sim.runFor(20_000);
  const asked = await settle(cluster, cluster.clusterNode('n1').antiEntropy.exchangeNow(0, 'n2'), 5000);
  assert.ok(asked, 'the exchange asked for waited more than 5 s behind scheduled ones');
  assert.equal(asked.value?.compared, true);
  await cluster.start();
  await cluster.stopAll();
});
