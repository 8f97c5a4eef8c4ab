import test from 'node:test';
import assert from 'node:assert/strict';
import { referenceNodeFactory } from '../../src/sim/reference-kv-node.js';
import { NodeCrashedError, SimCluster } from '../../src/sim/sim-cluster.js';
import type { SimNode, SimNodeDeps } from '../../src/sim/sim-node.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function settle<T>(cluster: SimCluster, p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  let out: { value?: T; error?: unknown } | undefined;
  p.then(
    (value) => (out = { value }),
    (error: unknown) => (out = { error }),
  );
  await cluster.sim.runUntil(() => out !== undefined, 30_000);
  assert.ok(out, 'call never settled');
  return out;
}

test('nodes get distinct ids, shared members and config; writes are readable from any node', async () => {
  const seen: SimNodeDeps[] = [];
  const cluster = new SimCluster({
    seed: 1,
    nodeCount: 4,
    createNode: (deps) => {
      seen.push(deps);
      return referenceNodeFactory(deps);
    },
    config: { requestTimeoutMs: 500 },
  });
  assert.deepEqual(cluster.nodeIds, ['n1', 'n2', 'n3', 'n4']);
  assert.deepEqual(seen.map((d) => d.self), cluster.nodeIds);
  assert.equal(seen[0].config.requestTimeoutMs, 500);
  assert.equal(seen[0].config.n, 3);
  assert.equal(seen[2].members.length, 4);
  const put = await settle(cluster, cluster.call('n1', (n) => n.put(enc('k'), enc('v1'))));
  assert.ok(put.value);
  for (const id of cluster.nodeIds) {
    const got = await settle(cluster, cluster.call(id, (n) => n.get(enc('k'))));
    assert.deepEqual(got.value!.siblings.map((s) => dec(s.value)), ['v1']);
  }
});

test('crash: calls in flight reject with NodeCrashedError, the node goes silent, its timers die; restart keeps its data', async () => {
  let timerFired = 0;
  const cluster = new SimCluster({
    seed: 2,
    nodeCount: 3,
    createNode: (deps) => {
      const node = referenceNodeFactory(deps);
      const tick = (): void => {
        timerFired++;
        deps.clock.setTimer(100, tick);
      };
      const wrapped: SimNode = Object.assign(Object.create(node) as SimNode, { start: () => (node.start(), deps.clock.setTimer(100, tick)) });
      return wrapped;
    },
    config: { requestTimeoutMs: 300 },
    faults: { latencyBaseMs: 50, latencyTailMeanMs: 0 },
  });
  assert.ok((await settle(cluster, cluster.call('n2', (n) => n.put(enc('k'), enc('before'), { w: 3 })))).value);
  const inFlight = cluster.call('n3', (n) => n.put(enc('k2'), enc('x')));
  await cluster.sim.runFor(10);
  cluster.crash('n3');
  const r = await settle(cluster, inFlight);
  assert.ok(r.error instanceof NodeCrashedError);
  assert.equal(cluster.isUp('n3'), false);
  assert.deepEqual(cluster.upNodeIds(), ['n1', 'n2']);
  assert.ok((await settle(cluster, cluster.call('n3', (n) => n.get(enc('k'))))).error instanceof NodeCrashedError);
  assert.throws(() => cluster.crash('n3'), /already down/);
  // the others still serve quorum 2 of 3; n3 answers nothing
  const firedBefore = timerFired;
  await cluster.sim.runFor(1000);
  const perNodeTicks = (timerFired - firedBefore) / 2;
  assert.equal(perNodeTicks, 10, 'only the two live nodes tick');
  assert.ok((await settle(cluster, cluster.call('n1', (n) => n.get(enc('k'), { r: 3 })))).error, 'r=3 cannot be met with a node down');
  cluster.restart('n3');
  assert.throws(() => cluster.restart('n3'), /already up/);
  const back = await settle(cluster, cluster.call('n1', (n) => n.get(enc('k'), { r: 3 })));
  assert.deepEqual(back.value!.siblings.map((s) => dec(s.value)), ['before']);
  await cluster.stopAll();
  assert.deepEqual(cluster.upNodeIds(), []);
});
