/** The membership nemeses' pure parts: what they ask of the cluster, when a ring has settled, workers that end with their node. */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChaosCluster } from '../../src/chaos/cluster.js';
import { nemesisByName } from '../../src/chaos/nemeses.js';
import { ringSettled, type RingSummary } from '../../src/chaos/ring-watch.js';
import { workerLoop, type TargetNode, type WorkloadEnv } from '../../src/chaos/workloads/env.js';
import { Gate } from '../../src/chaos/workloads/gate.js';

/** a stand-in cluster that records the membership calls */
function membershipCluster(ids: string[], n: number): { cluster: ChaosCluster; calls: string[] } {
  const calls: string[] = [];
  const members = [...ids];
  const cluster = {
    opts: { n },
    get ids() {
      return [...members];
    },
    join: async () => {
      const id = `n${members.length + 1}`;
      members.push(id);
      calls.push(`join ${id}`);
      return id;
    },
    leave: async (id: string) => void calls.push(`leave ${id}`),
    finishLeave: async (id: string) => void calls.push(`finishLeave ${id}`),
    remove: async (id: string, via: string) => void calls.push(`remove ${id} via ${via}`),
    waitSettled: async () => void calls.push('waitSettled'),
  } as unknown as ChaosCluster;
  return { cluster, calls };
}

test('join starts one node, which is the minority side; healing waits for the ring to settle', async () => {
  const { cluster, calls } = membershipCluster(['n1', 'n2', 'n3'], 3);
  const fault = await nemesisByName('join').start(cluster, () => 0.5);
  assert.deepEqual(fault.affected, ['n4']);
  await fault.heal();
  assert.deepEqual(calls, ['join n4', 'waitSettled']);
});

test('leave and remove pick a member, remove goes through another one, and neither goes under n members', async () => {
  for (let i = 0; i < 20; i++) {
    const r = i / 20;
    const { cluster, calls } = membershipCluster(['n1', 'n2', 'n3', 'n4'], 3);
    const removed = await nemesisByName('remove').start(cluster, () => r);
    const [, x, , via] = calls[0].split(' ');
    assert.deepEqual(removed.affected, [x]);
    assert.notEqual(via, x, 'the remove is asked of another member');
    await removed.heal();
    assert.equal(calls[1], 'waitSettled');

    const left = await nemesisByName('leave').start(cluster, () => r);
    await left.heal();
    assert.deepEqual(calls.slice(2), [`leave ${left.affected[0]}`, `finishLeave ${left.affected[0]}`]);
  }
  const { cluster, calls } = membershipCluster(['n1', 'n2', 'n3'], 3);
  await assert.rejects(nemesisByName('leave').start(cluster, () => 0), /none may go/);
  await assert.rejects(nemesisByName('remove').start(cluster, () => 0), /none may go/);
  assert.deepEqual(calls, [], 'nothing was asked of the cluster');
});

test('a ring has settled when every view has one epoch, exactly the expected members and nothing pending', () => {
  const v = (epoch: number, members: string[], pending = 0): RingSummary => ({ epoch, members, pending });
  assert.equal(ringSettled([v(4, ['n1', 'n2', 'n3']), v(4, ['n3', 'n1', 'n2'])], ['n2', 'n3', 'n1']), true);
  assert.equal(ringSettled([v(4, ['n1', 'n2', 'n3']), v(5, ['n1', 'n2', 'n3'])], ['n1', 'n2', 'n3']), false, 'epochs differ');
  assert.equal(ringSettled([v(4, ['n1', 'n2', 'n3'], 2)], ['n1', 'n2', 'n3']), false, 'transfers pending');
  assert.equal(ringSettled([v(4, ['n1', 'n2', 'n3', 'n4'])], ['n1', 'n2', 'n3']), false, 'a member too many (the leaver still on the ring)');
  assert.equal(ringSettled([v(4, ['n1', 'n2'])], ['n1', 'n2', 'n3']), false, 'the joiner not yet on the ring');
  assert.equal(ringSettled([v(4, ['n1', 'n2', 'n3']), undefined], ['n1', 'n2', 'n3']), false, 'an unreadable view');
  assert.equal(ringSettled([], ['n1']), false);
});

test('a worker ends once its node no longer takes client traffic', async () => {
  const a: TargetNode = { id: 'n1', address: '10.0.0.1', httpUrl: 'http://10.0.0.1:1', respPort: 1 };
  const b: TargetNode = { ...a, id: 'n2' };
  const env = { nodes: [a, b], gate: new Gate(), budget: new Map([['counter', 1000]]), random: () => 0 } as unknown as WorkloadEnv;
  const ran = { n1: 0, n2: 0 };
  const worker = workerLoop(env, 'counter', a, 0, async () => {
    ran.n1++;
    if (ran.n1 === 5) env.nodes.splice(env.nodes.indexOf(a), 1);
  });
  await worker;
  assert.equal(ran.n1, 5, 'no operation after the node was taken out');
  const other = workerLoop(env, 'counter', b, 0, async () => {
    if (++ran.n2 === 3) void env.gate.stop();
  });
  await other;
  assert.equal(ran.n2, 3);
});
