import test from 'node:test';
import assert from 'node:assert/strict';
import { convergedCluster } from '../../../src/sim/gossip-experiments.js';

test('the claimant election survives the claimant dying mid-change; the dead claimant blocks changes until removed', async () => {
  const { cluster, ids } = await convergedCluster(6, { seed: 21 });
  const [n1, n2] = ids;
  assert.ok(ids.every((o) => cluster.node(o).claimant() === n1));
  // a change in flight: a node joins and the claimant dies before everyone acknowledged the new epoch
  await cluster.start('n9', { seeds: [n2] });
  assert.ok(await cluster.sim.runUntil(() => cluster.node(n1).ring()!.epoch === 2, 20_000), 'n1 committed the join (its first step: a pending ring)');
  assert.ok(cluster.node(n1).ring()!.pending?.hasMember('n9'));
  cluster.crash(n1);
  const live = [...ids.slice(1), 'n9'];
  // everyone learns epoch 2 (from whoever has it) and, once n1 is down, elects n2
  assert.ok(await cluster.sim.runUntil(() => live.every((o) => cluster.node(o).claimant() === n2 && cluster.node(o).ring()!.epoch === 2), 20_000));
  // a second join: n2 may not commit while n1, a ring member, is unreachable
  await cluster.start('n8', { seeds: [n2] });
  await cluster.sim.runFor(10_000);
  assert.ok(live.every((o) => cluster.node(o).ring()!.epoch === 2), 'no commit while a member is down');
  assert.deepEqual(cluster.node(n2).readiness()?.waitingFor, [n1]);
  // the operator removes the dead n1: n2 re-plans the pending ring without n1 and with n8 (epoch 3),
  // then, the receivers' transfers done, makes it the ring (epoch 4)
  cluster.node(ids[3]).remove(n1);
  const all = [...live, 'n8'];
  const done = (): boolean =>
    all.every((o) => {
      const r = cluster.node(o).ring()!;
      return r.epoch === 4 && r.claimant === n2 && r.pending === undefined && !r.ring.hasMember(n1) && r.ring.hasMember('n8') && r.ring.hasMember('n9');
    });
  assert.ok(await cluster.sim.runUntil(done, 20_000));
  assert.deepEqual(cluster.node('n8').ringEpochs().map((r) => r.epoch), [2, 3, 4], 'a joiner keeps the rings it installed');
  assert.deepEqual(cluster.node(n2).ringEpochs().map((r) => r.epoch), [1, 2, 3, 4]);
  // n1 restarts on its old data: it learns it was removed while away, and stops being a member
  let removedEvent = false;
  cluster.onEvent((observer, e) => {
    if (observer === n1 && e.kind === 'removed') removedEvent = true;
  });
  await cluster.restart(n1);
  assert.ok(await cluster.sim.runUntil(() => removedEvent && all.every((o) => cluster.node(o).statusOf(n1) === 'left'), 10_000));
  await cluster.sim.runFor(5000);
  assert.ok(all.every((o) => !cluster.node(o).ring()!.ring.hasMember(n1)), 'n1 was not added back');
  // and a restart after that is refused outright: its record says it left
  cluster.crash(n1);
  await assert.rejects(cluster.restart(n1), /was removed from cluster/);
  await cluster.stopAll();
});

test('the two sides of a partition elect their own claimants but neither commits a change', async () => {
  const { cluster, ids } = await convergedCluster(6, { seed: 22 });
  const [n1, n2, n3, n4, n5, n6] = ids;
  cluster.network.partition([n1, n2, n3]);
  await cluster.sim.runFor(15_000);
  assert.equal(cluster.node(n5).claimant(), n4, 'the cut-off side elects its lowest');
  assert.equal(cluster.node(n2).claimant(), n1);
  // a node joins on each side
  await cluster.start('a-new', { seeds: [n2] });
  await cluster.start('b-new', { seeds: [n5] });
  await cluster.sim.runFor(15_000);
  for (const o of ids) assert.equal(cluster.node(o).ring()!.epoch, 1, `${o} committed during the partition`);
  cluster.network.heal();
  const all = [...ids, 'a-new', 'b-new'];
  assert.ok(
    await cluster.sim.runUntil(() => all.every((o) => cluster.node(o).ring()?.ring.nodeIds.length === 8), 30_000),
    'after the heal, the claimant commits both joins',
  );
  await cluster.sim.runFor(2000);
  assert.equal(new Set(all.map((o) => cluster.node(o).ring()!.ring.fingerprint)).size, 1, 'one ring everywhere');
  assert.equal(new Set(all.map((o) => cluster.node(o).claimant())).size, 1, 'one claimant everywhere');
  assert.equal(cluster.node(n6).ringEpochs()[1].claimant, n1, 'the first commit after the heal was n1\'s');
  await cluster.stopAll();
});

// Found by the simulator (membership, seed 18): a leaving node that crashed and restarted came back
// `up`, and the claimant quietly planned it back into the ring — the operator's leave was lost
test('a node restarted in the middle of its leave is still leaving: its partitions are handed away all the same', async () => {
  const { cluster, ids } = await convergedCluster(5, { seed: 23 });
  const leaver = ids[4];
  cluster.node(leaver).leave();
  await cluster.sim.runFor(1);
  cluster.crash(leaver);
  await cluster.sim.runFor(1500);
  await cluster.restart(leaver);
  assert.equal(cluster.node(leaver).selfRow.status, 'leaving');
  const others = ids.slice(0, 4);
  const handedAway = (): boolean =>
    ids.every((o) => {
      const r = cluster.node(o).ring()!;
      return r.pending === undefined && r.epoch >= 3 && !r.ring.hasMember(leaver);
    });
  assert.ok(await cluster.sim.runUntil(handedAway, 30_000), 'the leaver left the ring');
  assert.ok(others.every((o) => cluster.node(o).statusOf(leaver) === 'leaving'));
  await cluster.stopAll();
});
