import test from 'node:test';
import assert from 'node:assert/strict';
import { RingkvError } from '../../../src/core/errors.js';
import { decodeMembership, encodeMembership } from '../../../src/cluster/membership/membership-store.js';
import { gossipConfig } from '../../../src/cluster/membership/gossip-config.js';
import { GOSSIP_TYPES, gossipCodec } from '../../../src/cluster/membership/gossip-messages.js';
import type { Logger, Message } from '../../../src/cluster/runtime.js';
import { GossipSimCluster } from '../../../src/sim/gossip-cluster.js';
import { convergedCluster, nodeIds } from '../../../src/sim/gossip-experiments.js';

function recordingLogger(lines: string[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  return { debug: () => {}, info: at('info'), warn: at('warn'), error: at('error') };
}

/** sends msg from a bare transport (not a gossip node) and returns the reply or the error code */
async function ask(cluster: GossipSimCluster, from: string, to: string, msg: Message): Promise<Message | string> {
  const t = cluster.network.attach(from);
  t.onRequest(async () => ({ type: 'ignored' }));
  let out: Message | string | undefined;
  t.request(to, msg, 2000).then(
    (r) => (out = r),
    (e: RingkvError) => (out = e.code),
  );
  await cluster.sim.runUntil(() => out !== undefined, 5000);
  return out!;
}

test('gossip from another cluster, or malformed, is refused and logged; nothing of it is merged', async () => {
  const logs: string[] = [];
  const cluster = new GossipSimCluster({ seed: 31, logger: () => recordingLogger(logs) });
  const ids = nodeIds(3);
  await cluster.startAll(ids, { seeds: [ids[0]] });
  await cluster.sim.runFor(3000);
  const foreign = gossipCodec('other-cluster');
  const ours = gossipCodec('ringkv');
  const intruderRow = { id: 'intruder', address: 'x:1', weight: 1, incarnation: 1, heartbeat: 9, status: 'up', ringEpoch: 0, ringFingerprint: '' };
  assert.equal(await ask(cluster, 'intruder', ids[1], foreign.rows(GOSSIP_TYPES.push, { entries: [intruderRow as never] })), 'CLUSTER_MISMATCH');
  assert.equal(await ask(cluster, 'intruder', ids[1], foreign.syn({ digest: [], ring: { epoch: 0, claimant: '', members: 0, fingerprint: '' } })), 'CLUSTER_MISMATCH');
  assert.equal(await ask(cluster, 'intruder', ids[1], { type: GOSSIP_TYPES.syn, cluster: 'ringkv', digest: [['a', 1, 1]], ring: {} }), 'MALFORMED_REQUEST');
  assert.equal(await ask(cluster, 'intruder', ids[1], { type: GOSSIP_TYPES.push, cluster: 'ringkv', entries: [{ ...intruderRow, status: 'zombie' }] }), 'MALFORMED_REQUEST');
  assert.equal(await ask(cluster, 'intruder', ids[1], { type: GOSSIP_TYPES.pingReq, cluster: 'ringkv', target: ids[2], timeoutMs: 1e9 }), 'MALFORMED_REQUEST');
  assert.equal(await ask(cluster, 'intruder', ids[1], { type: 'gossip_nonsense', cluster: 'ringkv' }), 'UNKNOWN_MESSAGE');
  assert.equal(cluster.node(ids[1]).row('intruder'), undefined);
  const refused = cluster.router(ids[1]).snapshotStats().refused;
  assert.equal(refused['gossip_push:CLUSTER_MISMATCH'], 1);
  assert.equal(refused['gossip_syn:MALFORMED_REQUEST'], 1);
  assert.ok(logs.some((l) => l.includes('refused internode message') && l.includes('CLUSTER_MISMATCH')));
  // a well-formed push of our cluster is merged
  await ask(cluster, 'friend', ids[1], ours.rows(GOSSIP_TYPES.push, { entries: [{ ...intruderRow, id: 'friend' } as never] }));
  assert.equal(cluster.node(ids[1]).statusOf('friend'), 'up');
  await cluster.stopAll();
});

test('a node that sees itself suspected at its own heartbeat refutes with a newer one', async () => {
  const { cluster, ids } = await convergedCluster(4, { seed: 32 });
  const target = cluster.node(ids[1]);
  const own = target.selfRow;
  const lie = { ...own, heartbeat: own.heartbeat + 50, status: 'suspect' as const };
  await ask(cluster, 'liar', ids[1], gossipCodec('ringkv').rows(GOSSIP_TYPES.push, { entries: [lie] }));
  assert.equal(target.selfRow.status, 'up');
  assert.ok(target.selfRow.heartbeat > lie.heartbeat);
  assert.equal(target.counters.refutations, 1);
  // a later incarnation seen elsewhere (a wiped record): the node takes an even later one
  await ask(cluster, 'liar', ids[1], gossipCodec('ringkv').rows(GOSSIP_TYPES.push, { entries: [{ ...own, incarnation: own.incarnation + 3 }] }));
  assert.equal(target.selfRow.incarnation, own.incarnation + 4);
  // another process gossiping this id at another address is a conflict, not something to refute
  await ask(cluster, 'liar', ids[1], gossipCodec('ringkv').rows(GOSSIP_TYPES.push, { entries: [{ ...target.selfRow, address: 'elsewhere:1', heartbeat: 1e6 }] }));
  assert.equal(target.counters.conflicts, 1);
  assert.equal(target.selfRow.address, own.address);
  await cluster.stopAll();
});

test('the member table and ring history survive a restart; a starting node takes known members as up', async () => {
  const { cluster, ids } = await convergedCluster(5, { seed: 33 });
  await cluster.start('n9', { seeds: [ids[0]] });
  assert.ok(await cluster.sim.runUntil(() => cluster.node(ids[4]).ring()?.epoch === 3, 20_000), 'the join: a pending ring (2), then the ring (3)');
  await cluster.sim.runFor(2000);
  const id = ids[4];
  cluster.crash(id);
  assert.ok(await cluster.sim.runUntil(() => cluster.node(ids[0]).statusOf(id) === 'down', 10_000));
  cluster.crash(ids[3]); // down while id is away: id's record still says up
  const stored = decodeMembership(cluster.store(id)!.bytes, 'ringkv', recordingLogger([]));
  assert.ok(stored !== undefined && stored.rings.map((r) => r.epoch).join() === '1,2,3');
  cluster.network.partition([id]); // it restarts alone: everything it knows comes from its record
  const m = await cluster.restart(id);
  assert.deepEqual(m.ringEpochs().map((r) => r.epoch), [1, 2, 3]);
  assert.deepEqual(m.rows().map((r) => r.id), [...ids, 'n9']);
  assert.equal(m.statusOf(ids[3]), 'up', 'known members are up until convicted');
  assert.ok(m.selfRow.incarnation >= 2);
  await cluster.sim.runFor(10_000);
  assert.equal(m.statusOf(ids[3]), 'down', 'and then convicted');
  await cluster.stopAll();
});

test('records of another cluster or unreadable ones are ignored with a warning', () => {
  const lines: string[] = [];
  const logger = recordingLogger(lines);
  const bytes = encodeMembership('alpha', { entries: [], rings: [] });
  assert.deepEqual(decodeMembership(bytes, 'alpha', logger), { entries: [], rings: [] });
  assert.equal(decodeMembership(bytes, 'beta', logger), undefined);
  assert.equal(decodeMembership(new Uint8Array([0xc1, 0xff, 0x00]), 'alpha', logger), undefined);
  assert.equal(decodeMembership(undefined, 'alpha', logger), undefined);
  assert.equal(lines.filter((l) => l.startsWith('warn')).length, 2);
});

test('gossip settings are validated with the field named', () => {
  assert.equal(gossipConfig().gossipIntervalMs, 500);
  for (const bad of [{ gossipIntervalMs: 0 }, { phiThreshold: -1 }, { clusterName: '' }, { watchersPerNode: 0 }, { rumorFanout: 1.5 }, { claimantCommits: 'yes' as unknown as boolean }]) {
    assert.throws(() => gossipConfig(bad), (e: unknown) => e instanceof RingkvError && e.code === 'BAD_PARAMETER' && e.message.includes(Object.keys(bad)[0]));
  }
});

test('a gossip run replays exactly from its seed', async () => {
  async function run(seed: number): Promise<string> {
    const cluster = new GossipSimCluster({ seed, tracePayloads: true, faults: { dropProbability: 0.02 } });
    const ids = nodeIds(6);
    await cluster.startAll(ids, { seeds: [ids[0]] });
    await cluster.sim.runFor(3000);
    cluster.crash(ids[2]);
    cluster.pause(ids[4], 2000);
    await cluster.sim.runFor(8000);
    return cluster.sim.traceDigest();
  }
  assert.equal(await run(40), await run(40));
  assert.notEqual(await run(40), await run(41));
});
