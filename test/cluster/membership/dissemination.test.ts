import test from 'node:test';
import assert from 'node:assert/strict';
import { convergedCluster, nodeIds, spreadTime } from '../../../src/sim/gossip-experiments.js';
import { GossipSimCluster } from '../../../src/sim/gossip-cluster.js';
import { resolveRings } from '../../../src/core/membership/ring-epoch.js';

const INTERVAL = 500;

test('a membership change reaches every node within O(log n) rounds of push-pull gossip alone (16 and 64 nodes)', async () => {
  for (const n of [16, 64]) {
    for (const seed of [1, 2]) {
      const { cluster, ids } = await convergedCluster(n, { seed, config: { rumorFanout: 0 } });
      const leaver = ids[n >> 1];
      const leave = await spreadTime(cluster, () => cluster.node(leaver).leave(), (o) => cluster.node(o).statusOf(leaver) === 'leaving', INTERVAL);
      const joiner = 'zz-new';
      const join = await spreadTime(cluster, () => void cluster.start(joiner, { seeds: [ids[0]] }), (o) => cluster.node(o).row(joiner) !== undefined, INTERVAL);
      const bound = 2 * Math.ceil(Math.log2(n)) + 2;
      assert.ok(leave.rounds <= bound, `n=${n} seed ${seed}: a leave took ${leave.rounds} rounds (bound ${bound})`);
      assert.ok(join.rounds <= bound, `n=${n} seed ${seed}: a join took ${join.rounds} rounds (bound ${bound})`);
      await cluster.stopAll();
    }
  }
});

test('status changes also travel as rumors: a leave reaches 64 nodes in a round', async () => {
  const { cluster, ids } = await convergedCluster(64, { seed: 3 });
  const leaver = ids[10];
  const leave = await spreadTime(cluster, () => cluster.node(leaver).leave(), (o) => cluster.node(o).statusOf(leaver) === 'leaving', INTERVAL);
  assert.ok(leave.rounds <= 2, `took ${leave.ms} ms`);
  const rumors = ids.reduce((s, id) => s + cluster.node(id).counters.rumorsSent, 0);
  assert.ok(rumors > 0 && rumors <= 4 * 64, `each node forwards a rumor once, to 3 peers: ${rumors} sent`);
});

test('two groups started apart, with only a seed in common, merge into one table and one ring', async () => {
  const cluster = new GossipSimCluster({ seed: 11 });
  const a = nodeIds(6, 'a');
  const b = nodeIds(6, 'b');
  const seed = a[0];
  // each group has its own static list (and so its own first ring); b knows a's seed only by name
  await cluster.startAll(a, { seeds: [seed] });
  cluster.network.partition(b);
  await cluster.startAll(b, { seeds: [seed, b[0]] });
  await cluster.sim.runFor(10_000);
  for (const id of b) assert.deepEqual(cluster.node(id).rows().map((r) => r.id).filter((x) => x.startsWith('a')), [], 'partitioned: b has not met a');
  const ringA = cluster.node(a[1]).ring()!;
  const ringB = cluster.node(b[1]).ring()!;
  assert.equal(ringA.epoch, 1);
  assert.notEqual(ringA.ring.fingerprint, ringB.ring.fingerprint);
  cluster.network.heal();
  const all = [...a, ...b];
  const merged = (): boolean =>
    all.every((o) => {
      const m = cluster.node(o);
      return all.every((x) => m.statusOf(x) === 'up') && m.ring()?.ring.nodeIds.length === 12;
    });
  assert.ok(await cluster.sim.runUntil(merged, 60_000), 'the groups did not merge');
  // one ring everywhere: the same epoch and fingerprint, committed by the lowest id (the claimant)
  const rings = new Set(all.map((o) => `${cluster.node(o).ring()!.epoch}/${cluster.node(o).ring()!.ring.fingerprint}`));
  await cluster.sim.runUntil(() => new Set(all.map((o) => cluster.node(o).ring()!.ring.fingerprint)).size === 1, 10_000);
  assert.equal(new Set(all.map((o) => cluster.node(o).ring()!.ring.fingerprint)).size, 1, [...rings].join(' '));
  // the epoch-1 rings resolved the same way everywhere; the winner's lowest member claimed the rest
  const winner = resolveRings(ringA, ringB);
  assert.equal(cluster.node(b[3]).ring()!.claimant, winner.ring.nodeIds[0]);
  assert.equal(cluster.node(a[3]).ring()!.epoch, 3, 'epoch 2 held both groups as a pending ring, epoch 3 made it the ring');
  await cluster.stopAll();
});

test('a joining node with only a seed learns the cluster and its ring; the claimant adds it in the next epoch', async () => {
  const { cluster, ids } = await convergedCluster(5, { seed: 4 });
  const before = cluster.node(ids[0]).ring()!;
  const joiner = await cluster.start('n9', { seeds: [ids[2]] });
  assert.equal(joiner.ring(), undefined, 'a joiner starts without a ring');
  const joined = (): boolean => [...ids, 'n9'].every((o) => cluster.node(o).ring()?.ring.hasMember('n9') === true);
  assert.ok(await cluster.sim.runUntil(joined, 30_000));
  const after = cluster.node('n9').ring()!;
  assert.equal(after.epoch, before.epoch + 2, 'a pending ring with the joiner, then that ring');
  assert.equal(after.claimant, ids[0]);
  // the claim moved only the joiner's share
  let moved = 0;
  for (let p = 0; p < after.ring.partitions; p++) if (before.ring.ownerOf(p) !== after.ring.ownerOf(p)) moved++;
  assert.ok(moved <= Math.ceil((1.1 * after.ring.partitions) / 6), `moved ${moved}`);
  await cluster.stopAll();
});
