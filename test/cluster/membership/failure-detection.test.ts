import test from 'node:test';
import assert from 'node:assert/strict';
import { convergedCluster, longRun, measureDetection, percentile } from '../../../src/sim/gossip-experiments.js';

const LOSSY = { dropProbability: 0.01, latencyBaseMs: 1, latencyTailMeanMs: 10, latencyMaxMs: 200 };

test('a crashed node is marked down by every live node, within 6 s of virtual time (killed and silent)', async () => {
  // refuseProbability 1: a killed process (connections refused); 0: a silent host (every probe times out)
  for (const [refuseProbability, seeds] of [
    [1, [1, 2]],
    [0, [3, 4]],
  ] as const) {
    for (const seed of seeds) {
      const { cluster, ids } = await convergedCluster(16, { seed, faults: { refuseProbability } });
      const samples = await measureDetection(cluster, [ids[3], ids[9], ids[0]]);
      const all = samples.flatMap((s) => s.perObserver);
      assert.equal(all.length, 15 + 14 + 13, 'every live node marked every victim down');
      const worst = Math.max(...all);
      assert.ok(worst <= 6000, `refuse ${refuseProbability} seed ${seed}: worst ${worst} ms`);
      // none before the detector could have: the watcher heard a heartbeat at most one interval before the crash
      assert.ok(Math.min(...all) >= 1000, `refuse ${refuseProbability} seed ${seed}: best ${Math.min(...all)} ms`);
      if (refuseProbability === 1) assert.ok(percentile(all, 0.5) <= 3000, `killed: median ${percentile(all, 0.5)} ms`);
      await cluster.stopAll();
    }
  }
});

test('a paused node may be suspected but is never marked down; on waking it marks nobody down', async () => {
  const { cluster, ids } = await convergedCluster(12, { seed: 5, faults: LOSSY });
  const downs: string[] = [];
  let suspectedPaused = 0;
  cluster.onEvent((observer, e) => {
    if (e.kind !== 'member' || e.id === observer) return;
    if (e.current.status === 'down') downs.push(`${observer} marked ${e.id} down`);
    if (e.current.status === 'suspect' && cluster.isPaused(e.id)) suspectedPaused++;
  });
  for (let i = 0; i < 12; i++) {
    const id = ids[i % ids.length];
    cluster.pause(id, 2000);
    await cluster.sim.runFor(6000);
    assert.ok(ids.every((o) => cluster.node(o).statusOf(id) === 'up'), `${id} is up everywhere again`);
  }
  assert.deepEqual(downs, []);
  assert.ok(suspectedPaused > 0, 'the pauses were long enough to be noticed (the test can fail)');
  const stalls = ids.reduce((s, id) => s + cluster.node(id).counters.stalls, 0);
  assert.equal(stalls, 12, 'each paused node noticed its own stall once');
  await cluster.stopAll();
});

test('no live node is marked down over 3 minutes with 1 % loss, jitter and 2-s pauses (the 10-minute run is in bench:membership)', async () => {
  const { cluster, ids } = await convergedCluster(16, { seed: 6, faults: LOSSY });
  const result = await longRun(cluster, ids, 3);
  assert.equal(result.falseDowns, 0, JSON.stringify(result));
  assert.ok(result.pauses >= 25, JSON.stringify(result));
  await cluster.stopAll();
});

test('a graceful stop is known everywhere at once; a restart is up again under a new incarnation', async () => {
  const { cluster, ids } = await convergedCluster(8, { seed: 7 });
  const id = ids[4];
  const incarnation = cluster.node(ids[0]).row(id)!.incarnation;
  const start = cluster.sim.elapsedMs;
  await cluster.stop(id);
  const others = ids.filter((x) => x !== id);
  assert.ok(await cluster.sim.runUntil(() => others.every((o) => cluster.node(o).statusOf(id) === 'down'), 1000));
  assert.ok(cluster.sim.elapsedMs - start < 500, 'announced, not detected');
  assert.equal(others.reduce((s, o) => s + cluster.node(o).counters.downs, 0), 0, 'no detector convicted it');
  await cluster.restart(id);
  assert.ok(await cluster.sim.runUntil(() => others.every((o) => cluster.node(o).statusOf(id) === 'up'), 10_000));
  assert.equal(cluster.node(ids[0]).row(id)!.incarnation, incarnation + 1);
  await cluster.stopAll();
});

test('a crashed node that restarts is up again; a node cut off and marked down is up again when the cut heals', async () => {
  const { cluster, ids } = await convergedCluster(6, { seed: 8 });
  const victim = ids[2];
  cluster.crash(victim);
  assert.ok(await cluster.sim.runUntil(() => ids.filter((x) => x !== victim).every((o) => cluster.node(o).statusOf(victim) === 'down'), 10_000));
  await cluster.restart(victim);
  assert.ok(await cluster.sim.runUntil(() => ids.every((o) => cluster.node(o).statusOf(victim) === 'up'), 10_000));
  // the restarted node knew its peers from its stored table, as up, and found them up
  assert.ok(ids.every((x) => cluster.node(victim).statusOf(x) === 'up'));

  // cut one node off long enough to be marked down, then heal: it refutes with a newer heartbeat
  const cut = ids[4];
  cluster.network.partition([cut]);
  assert.ok(await cluster.sim.runUntil(() => cluster.node(ids[0]).statusOf(cut) === 'down', 15_000));
  cluster.network.heal();
  assert.ok(await cluster.sim.runUntil(() => ids.every((o) => cluster.node(o).statusOf(cut) === 'up' && cluster.node(cut).statusOf(o) === 'up'), 15_000));
  await cluster.stopAll();
});
