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
  const cluster = await SimCluster.create({
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
  const cluster = await SimCluster.create({
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
  assert.throws(() => cluster.setClockSkew('n9', 1), /no node n9/);
  // the others still serve quorum 2 of 3; n3 answers nothing
  const firedBefore = timerFired;
  await cluster.sim.runFor(1000);
  const perNodeTicks = (timerFired - firedBefore) / 2;
  assert.equal(perNodeTicks, 10, 'only the two live nodes tick');
  assert.ok((await settle(cluster, cluster.call('n1', (n) => n.get(enc('k'), { r: 3 })))).error, 'r=3 cannot be met with a node down');
  await cluster.restart('n3');
  await assert.rejects(cluster.restart('n3'), /already up/);
  const back = await settle(cluster, cluster.call('n1', (n) => n.get(enc('k'), { r: 3 })));
  assert.deepEqual(back.value!.siblings.map((s) => dec(s.value)), ['before']);
  await cluster.stopAll();
  assert.deepEqual(cluster.upNodeIds(), []);
});

test('every boot opens the node identity from its disk: an unclean stop or a replaced disk gives a new actor, a clean one keeps it', async () => {
  for (const storage of [{ engine: 'memory' } as const, { engine: 'lsm', syncMode: 'periodic' } as const]) {
    const cluster = await SimCluster.create({ seed: 3, nodeCount: 3, createNode: referenceNodeFactory, storage });
    const first = cluster.identity('n1');
    assert.equal(first.incarnation, 1);
    assert.match(first.openReason, /no identity record/);
    cluster.crash('n1');
    await cluster.restart('n1');
    const afterCrash = cluster.identity('n1');
    assert.equal(afterCrash.incarnation, 2);
    assert.notEqual(afterCrash.actor, first.actor);
    assert.match(afterCrash.openReason, /unclean/);
    await cluster.gracefulRestart('n1');
    const afterClean = cluster.identity('n1');
    assert.equal(afterClean.incarnation, 3);
    assert.equal(afterClean.actor, afterCrash.actor, `${storage.engine}: a clean restart keeps the actor`);
    cluster.crash('n1');
    assert.throws(() => cluster.replaceDisk('n2'), /must be down/);
    cluster.replaceDisk('n1');
    await cluster.restart('n1');
    assert.equal(cluster.identity('n1').incarnation, 1, 'the record went with the disk');
    assert.deepEqual(
      cluster.dataLoss.map((e) => [e.node, e.kind]),
      storage.engine === 'lsm' ? [['n1', 'crash'], ['n1', 'crash'], ['n1', 'replaced-disk']] : [['n1', 'replaced-disk']],
    );
    assert.equal(cluster.faultCounts['graceful-restart'], 1);
    await cluster.stopAll();
  }
});

test('LSM on SimFS: a crash in periodic mode loses the last acknowledged write, batch mode keeps it; a replaced disk keeps nothing', async () => {
  for (const syncMode of ['periodic', 'batch'] as const) {
    const cluster = await SimCluster.create({ seed: 4, nodeCount: 1, createNode: referenceNodeFactory, config: { n: 1, r: 1, w: 1 }, storage: { engine: 'lsm', syncMode, periodicSyncMs: 1000 } });
    const old = (await settle(cluster, cluster.call('n1', (n) => n.put(enc('k'), enc('old'))))).value!;
    await cluster.sim.runFor(1500); // the periodic fsync covers it
    assert.ok((await settle(cluster, cluster.call('n1', (n) => n.put(enc('k'), enc('new'), { context: old.context })))).value);
    cluster.crash('n1');
    await cluster.restart('n1');
    const got = await settle(cluster, cluster.call('n1', (n) => n.get(enc('k'))));
    assert.deepEqual(got.value!.siblings.map((s) => dec(s.value)), syncMode === 'periodic' ? ['old'] : ['new'], syncMode);
    cluster.crash('n1');
    cluster.replaceDisk('n1');
    await cluster.restart('n1');
    assert.deepEqual((await settle(cluster, cluster.call('n1', (n) => n.get(enc('k'))))).value!.siblings, []);
    await cluster.stopAll();
  }
});

test('clock skew: a node reads its own wall time, set per machine and kept across restarts', async () => {
  const cluster = await SimCluster.create({ seed: 5, nodeCount: 2, createNode: referenceNodeFactory });
  const start = cluster.sim.clock.nowMs();
  cluster.setClockSkew('n1', 60_000, 1000);
  cluster.setClockSkew('n2', -60_000);
  assert.equal(cluster.nodeNowMs('n1'), start + 60_000);
  assert.equal(cluster.nodeNowMs('n2'), start - 60_000);
  await cluster.sim.runFor(10_000);
  assert.equal(cluster.nodeNowMs('n1'), start + 10_000 + 60_000 + 10);
  cluster.crash('n2');
  await cluster.restart('n2');
  assert.equal(cluster.nodeNowMs('n2'), start + 10_000 - 60_000);
  assert.equal(cluster.faultCounts['clock-skew'], 2);
  await cluster.stopAll();
});
