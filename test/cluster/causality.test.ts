/**
 * Cluster-level regression tests for the causality review (see also test/core/version and the
 * simulator's regression scenarios): exactly-once writes, counters with deletes, quorums larger than
 * the replicas that exist, clock offsets, and a replica whose state went backwards.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { ClusterNode } from '../../src/cluster/node.js';
import { DEFAULT_CLUSTER_CONFIG } from '../../src/cluster/cluster-config.js';
import { NodeIdentity } from '../../src/cluster/node-identity.js';
import type { NodeStateStore } from '../../src/cluster/runtime.js';
import { partitionOf } from '../../src/core/hash.js';
import { buildRing } from '../../src/core/ring.js';
import { RingkvError } from '../../src/core/errors.js';
import { MemoryEngine } from '../../src/storage/memory-engine.js';
import { LoopbackNetwork } from './loopback-transport.js';
import { loopbackCluster, TestClock, testRandom, type LoopbackCluster } from './loopback-cluster.js';

class MemoryStateStore implements NodeStateStore {
  bytes: Uint8Array | undefined;
  async read() {
    return this.bytes;
  }
  async write(b: Uint8Array) {
    this.bytes = Uint8Array.from(b);
  }
}

const random = testRandom;
type Harness = LoopbackCluster;
const cluster = loopbackCluster;

const k = (s: string) => Buffer.from(s);
const values = (r: { siblings: { value: Uint8Array }[] }) => r.siblings.map((s) => Buffer.from(s.value).toString()).sort();
const counter = (r: { siblings: { kind: string; value: Uint8Array }[] }) => Buffer.from(r.siblings.find((s) => s.kind === 'counter')?.value ?? k('absent')).toString();

/** a key whose preference list does (or does not) include node `id` */
function keyWhere(h: Harness, id: string, isReplica: boolean): Uint8Array {
  const ring = buildRing(h.members, h.config.partitions);
  for (let i = 0; ; i++) {
    const key = k(`key-${i}`);
    const replicas = ring.preferenceList(partitionOf(key, ring.partitions), h.config.n).primaries;
    if (replicas.includes(id) === isReplica) return key;
  }
}
function replicasOf(h: Harness, key: Uint8Array): string[] {
  const ring = buildRing(h.members, h.config.partitions);
  return [...ring.preferenceList(partitionOf(key, ring.partitions), h.config.n).primaries];
}
const isCode = (code: string, pattern?: RegExp) => (e: unknown) => e instanceof RingkvError && e.code === code && (!pattern || pattern.test(e.message));

// ---- case 3: a forwarded write applied twice ----------------------------------------------------

test('case 3: a forwarded INCR whose reply is lost with the connection is applied once (same replica asked again)', async () => {
  const h = cluster(5);
  const key = keyWhere(h, 'n1', false);
  const first = replicasOf(h, key)[0];
  h.net.faults.push({ from: 'n1', to: first, type: 'coordinate_write', kind: 'reset-after-delivery' });
  assert.equal(await h.nodes[0].increment(key, 1n, { w: 3 }), 1n);
  assert.equal(counter(await h.nodes[0].get(key, { r: 3 })), '1');
  const coordinator = h.nodes[Number(first.slice(1)) - 1];
  assert.equal(coordinator.stats.writeRetriesDeduplicated, 1);
});

test('case 3: a retry reaching the replica after it restarted (its write-id memory gone) is not minted again: 504, applied once', async () => {
  const h = cluster(5);
  const key = keyWhere(h, 'n1', false);
  const first = replicasOf(h, key)[0];
  const i = Number(first.slice(1)) - 1;
  h.net.faults.push({ from: 'n1', to: first, type: 'coordinate_write', kind: 'reset-after-delivery', afterDelivery: () => void h.restart(i) });
  await assert.rejects(h.nodes[0].increment(key, 1n, { timeoutMs: 300 }), isCode('TIMEOUT', /does not remember write|may have been applied/));
  assert.equal(counter(await h.nodes[0].get(key, { r: 3 })), '1', 'applied once');
});

test('case 3: a forwarded PUT whose reply is lost leaves one sibling, never two', async () => {
  const h = cluster(5);
  const key = keyWhere(h, 'n1', false);
  const first = replicasOf(h, key)[0];
  h.net.faults.push({ from: 'n1', to: first, type: 'coordinate_write', kind: 'reset-after-delivery' });
  await h.nodes[0].put(key, k('once'));
  assert.deepEqual(values(await h.nodes[0].get(key, { r: 3 })), ['once']);
});

test('case 3: when the replica that may hold the write becomes unreachable, the write is a 504 that says it may have been applied — not minted elsewhere', async () => {
  const h = cluster(5);
  const key = keyWhere(h, 'n1', false);
  const [first] = replicasOf(h, key);
  h.net.faults.push({ from: 'n1', to: first, type: 'coordinate_write', kind: 'reset-after-delivery' });
  h.net.faults.push({ from: 'n1', to: first, type: 'coordinate_write', kind: 'refuse', times: 1000 });
  await assert.rejects(h.nodes[0].increment(key, 1n, { timeoutMs: 200 }), isCode('TIMEOUT', /may have been applied/));
  h.net.faults.length = 0;
  assert.equal(counter(await h.nodes[0].get(key, { r: 3 })), '1', 'applied once, at the first replica only');
});

test('case 3: a forward refused before delivery moves on to the next replica; if none can be reached, 503 says nothing was stored', async () => {
  const h = cluster(5);
  const key = keyWhere(h, 'n1', false);
  const [first, second] = replicasOf(h, key);
  h.net.faults.push({ from: 'n1', to: first, type: 'coordinate_write', kind: 'refuse' });
  await h.nodes[0].put(key, k('v'));
  assert.deepEqual(values(await h.nodes[0].get(key, { r: 3 })), ['v']);
  for (const id of replicasOf(h, key)) h.net.down.add(id);
  await assert.rejects(h.nodes[0].put(key, k('w')), isCode('QUORUM_NOT_MET', /0 of 2 .*nothing was stored/));
  assert.ok(second);
});

test('a forward refused with STORAGE_FULL (nothing minted there) moves on to the next replica', async () => {
  const h = cluster(5);
  const key = keyWhere(h, 'n1', false);
  const [first] = replicasOf(h, key);
  h.net.faults.push({ from: 'n1', to: first, type: 'coordinate_write', kind: 'storage-full' });
  await h.nodes[0].put(key, k('elsewhere'));
  assert.deepEqual(values(await h.nodes[0].get(key, { r: 3 })), ['elsewhere']);
});

test('a client write id (X-Ringkv-Write-Id) is applied once even when retried through another node', async () => {
  const h = cluster(5);
  const key = keyWhere(h, 'n1', false);
  await h.nodes[0].put(key, k('p'), { writeId: 'client-42' });
  await h.nodes[1].put(key, k('p'), { writeId: 'client-42' });
  await h.nodes[2].put(key, k('p'), { writeId: 'client-42' });
  assert.deepEqual(values(await h.nodes[3].get(key, { r: 3 })), ['p']);
  const ctr = keyWhere(h, 'n2', false);
  assert.equal(await h.nodes[1].increment(ctr, 5n, { writeId: 'incr-7' }), 5n);
  assert.equal(await h.nodes[4].increment(ctr, 5n, { writeId: 'incr-7' }), 5n);
  assert.equal(counter(await h.nodes[0].get(ctr, { r: 3 })), '5');
  await assert.rejects(h.nodes[0].put(key, k('x'), { writeId: 'has space' }), isCode('BAD_PARAMETER', /write id .* is malformed/));
});

// ---- case 2: INCR after DEL ---------------------------------------------------------------------

test('case 2: INCR after an acknowledged DEL, through the replica that missed the DEL, answers 1', async () => {
  const h = cluster(3);
  const key = k('ctr');
  for (let i = 0; i < 5; i++) await h.nodes[0].increment(key, 1n, { w: 3 });
  h.net.down.add('n3');
  const read = await h.nodes[0].get(key, { r: 2 });
  assert.equal(counter(read), '5');
  await h.nodes[0].delete(key, { w: 2, context: read.context });
  h.net.down.delete('n3');
  assert.equal(await h.nodes[2].increment(key, 1n), 1n, 'the answer merges what the acknowledging replicas hold');
  assert.equal(counter(await h.nodes[0].get(key, { r: 3 })), '1');
});

test('an INCR answer includes every increment acknowledged before it (W + W > N), even through a stale replica', async () => {
  const h = cluster(3);
  const key = k('ctr2');
  h.net.down.add('n3');
  for (let i = 0; i < 4; i++) await h.nodes[0].increment(key, 2n, { w: 2 });
  h.net.down.delete('n3');
  assert.equal(await h.nodes[2].increment(key, 1n, { w: 2 }), 9n);
});

// ---- case 8: no silent caps ---------------------------------------------------------------------

test('case 8: r or w above the replicas that exist fails with 503 naming both numbers; /health warns', async () => {
  const h = cluster(1);
  const [node] = h.nodes;
  await assert.rejects(node.put(k('a'), k('x'), { w: 3 }), (e: unknown) => isCode('QUORUM_NOT_MET', /w=3 .*only 1 replica/)(e) && (e as RingkvError).httpStatus === 503);
  await assert.rejects(node.get(k('a'), { r: 2 }), isCode('QUORUM_NOT_MET', /r=2 .*only 1 replica/));
  await node.put(k('a'), k('x'), { w: 1 });
  assert.deepEqual(values(await node.get(k('a'), { r: 1 })), ['x']);
  assert.match(node.healthWarnings().join(' '), /n=3 but the cluster has 1 member/);
  assert.deepEqual(cluster(3).nodes[0].healthWarnings(), []);
});

// ---- case 5: clocks ------------------------------------------------------------------------------

test('case 5: a peer timestamp more than maxClockOffsetMs ahead is clamped and counted, not adopted', async () => {
  const h = cluster(3);
  const key = k('clock');
  h.clocks[0].offsetMs += 60_000; // n1 runs a minute ahead
  await h.nodes[0].put(key, k('from-n1'), { w: 3 });
  const n2 = h.nodes[1];
  assert.ok(n2.stats.clockOffsetClamps >= 1);
  const read = await n2.get(key, { r: 3 });
  await n2.put(key, k('from-n2'), { context: read.context });
  const after = await n2.get(key, { r: 3 });
  assert.deepEqual(values(after), ['from-n2']);
  assert.ok(after.siblings[0].hlcWallMs <= h.clocks[1].now + h.config.maxClockOffsetMs, 'n2 did not take on n1\'s clock');
});

test('case 5: the HLC never goes backwards across a restart, even when the clock does', async () => {
  const store = new MemoryStateStore();
  const clock = new TestClock();
  const members = [{ id: 'n1', address: 'n1', weight: 1 }];
  const config = { ...DEFAULT_CLUSTER_CONFIG, n: 1, r: 1, w: 1, aaeEnabled: false };
  const engine = new MemoryEngine();
  const net = new LoopbackNetwork();
  const boot = async () => {
    const identity = await NodeIdentity.open({ self: 'n1', store, random: random(), engine });
    const node = new ClusterNode({ self: 'n1', members, config, clock, random: random(), transport: net.transport('n1'), engine, identity });
    node.start();
    return { node, identity };
  };
  const first = await boot();
  await first.node.put(k('t'), k('a'));
  const before = (await first.node.get(k('t'))).siblings[0].hlcWallMs;
  await first.identity.closeClean();
  clock.offsetMs -= 3_600_000; // the clock jumps an hour back
  const second = await boot();
  await second.node.put(k('t'), k('b'));
  const hlcs = (await second.node.get(k('t'))).siblings.map((s) => s.hlcWallMs);
  assert.ok(Math.max(...hlcs) > before, `a later write sorts later (${hlcs} vs ${before})`);
});

// ---- case 1: a replica whose state went backwards -------------------------------------------------

test('case 1: after a replica loses its last write and restarts unclean, a blind PUT at w=3 is never lost', async () => {
  const h = cluster(3);
  const key = k('backwards');
  const stores = h.members.map(() => new MemoryStateStore());
  for (let i = 0; i < 3; i++) h.restart(i, { identity: await NodeIdentity.open({ self: h.members[i].id, store: stores[i], random: random(), engine: h.engines[i] }) });
  await h.nodes[0].put(key, k('v1'), { w: 3 });
  const snapshot = await h.engines[0].get(partitionOf(key, h.config.partitions), key);
  await h.nodes[0].put(key, k('v2'), { w: 3, context: (await h.nodes[0].get(key, { r: 3 })).context });
  // n1 crashes and comes back without its last write (periodic sync) — and without a clean stop
  await h.engines[0].put(partitionOf(key, h.config.partitions), key, snapshot!);
  const identity = await NodeIdentity.open({ self: 'n1', store: stores[0], random: random(), engine: h.engines[0] });
  assert.match(identity.openReason, /unclean/);
  h.restart(0, { identity });
  await h.nodes[0].put(key, k('blind'), { w: 3 });
  assert.deepEqual(values(await h.nodes[1].get(key, { r: 3 })), ['blind', 'v2']);
});

test('case 1: a peer holding versions of our actor that our copy lacks retires the actor before the next mint', async () => {
  const h = cluster(3);
  const key = k('peer-ahead');
  await h.nodes[0].put(key, k('v1'), { w: 3 });
  const p = partitionOf(key, h.config.partitions);
  const lost = await h.engines[0].get(p, key);
  await h.nodes[0].put(key, k('v2'), { w: 3, context: (await h.nodes[0].get(key)).context });
  await h.engines[0].put(p, key, lost!); // n1's copy went backwards, same incarnation (no restart)
  const actor = h.nodes[0].identity.actor;
  await h.nodes[0].get(key, { r: 3 }); // read repair brings v2 back to n1 …
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.notEqual(h.nodes[0].identity.actor, actor, '… and with it the news that n1 lost versions of its actor');
  await h.nodes[0].put(key, k('blind'), { w: 3 });
  assert.deepEqual(values(await h.nodes[2].get(key, { r: 3 })), ['blind', 'v2']);
});
