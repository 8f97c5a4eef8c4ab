import test from 'node:test';
import assert from 'node:assert/strict';
import { partitionOf } from '../../../src/core/hash.js';
import { buildRing } from '../../../src/core/ring.js';
import { RingkvError } from '../../../src/core/errors.js';
import { HINT_PARTITION } from '../../../src/cluster/hints/hint-store.js';
import { decodeObject } from '../../../src/cluster/object-codec.js';
import { loopbackCluster, type LoopbackCluster } from '../loopback-cluster.js';

const k = (s: string) => Buffer.from(s);
const idx = (id: string) => Number(id.slice(1)) - 1;

function listOf(h: LoopbackCluster, key: Uint8Array): { primaries: string[]; fallbacks: string[] } {
  const ring = buildRing(h.members, h.config.partitions);
  const pl = ring.preferenceList(partitionOf(key, ring.partitions), h.config.n);
  return { primaries: [...pl.primaries], fallbacks: [...pl.fallbacks] };
}

async function stored(h: LoopbackCluster, id: string, key: Uint8Array): Promise<string[]> {
  const bytes = await h.engines[idx(id)].get(partitionOf(key, h.config.partitions), key);
  if (!bytes) return [];
  return decodeObject(bytes, 't').siblings.flatMap((s) => (s.value.kind === 'bytes' ? [Buffer.from(s.value.bytes).toString()] : []));
}

async function hintCount(h: LoopbackCluster, id: string): Promise<number> {
  let n = 0;
  for await (const _ of h.engines[idx(id)].scan(HINT_PARTITION, HINT_PARTITION + 1)) n++;
  return n;
}

async function until(cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const stopAll = async (h: LoopbackCluster) => {
  for (const n of h.nodes) await n.stop();
};

test('a primary down: the write reaches W through a stand-in, which hands the hint back when the primary returns', async () => {
  const h = loopbackCluster(5, {}, { liveness: true });
  try {
    const key = k('sloppy');
    const { primaries, fallbacks } = listOf(h, key);
    const [a, , c] = primaries;
    h.net.down.add(c);
    await h.nodes[idx(a)].put(key, k('v1'), { w: 3 });
    assert.deepEqual(await stored(h, c, key), [], 'the down primary has nothing yet');
    assert.equal(await hintCount(h, fallbacks[0]), 1, 'the first stand-in keeps a hint');
    assert.deepEqual(await stored(h, fallbacks[0], key), [], "a hint never mixes with the stand-in's own data");
    h.net.down.delete(c);
    await until(async () => (await stored(h, c, key)).length === 1);
    assert.deepEqual(await stored(h, c, key), ['v1']);
    await until(async () => (await hintCount(h, fallbacks[0])) === 0);
    assert.equal(h.nodes[idx(fallbacks[0])].hints.stats.delivered, 1);
  } finally {
    await stopAll(h);
  }
});

test('strict pw counts only primaries; W counts distinct nodes, so a hint kept by the coordinator never counts', async () => {
  const h = loopbackCluster(3, {}, { liveness: true });
  try {
    const key = k('strict');
    const { primaries } = listOf(h, key);
    const [a, , c] = primaries;
    h.net.down.add(c);
    await h.nodes[idx(a)].put(key, k('v'), { w: 2 }); // no stand-in in a 3-node cluster: a keeps the hint
    assert.equal(await hintCount(h, a), 1);
    await assert.rejects(h.nodes[idx(a)].put(key, k('w3'), { w: 3 }), (e: unknown) => e instanceof RingkvError && e.code === 'QUORUM_NOT_MET' && /2 of 3/.test(e.message));
    h.net.down.delete(c);
    await until(async () => (await stored(h, c, key)).length >= 1);
    assert.ok((await stored(h, c, key)).includes('v'));
  } finally {
    await stopAll(h);
  }
  const five = loopbackCluster(5, {}, { liveness: true });
  try {
    const key = k('strict5');
    const [a, , c] = listOf(five, key).primaries;
    five.net.down.add(c);
    await five.nodes[idx(a)].put(key, k('sloppy ok'), { w: 3 });
    await assert.rejects(five.nodes[idx(a)].put(key, k('strict'), { w: 3, pw: 3 }), (e: unknown) => e instanceof RingkvError && e.code === 'QUORUM_NOT_MET');
    await five.nodes[idx(a)].put(key, k('strict 2'), { w: 3, pw: 2 });
  } finally {
    await stopAll(five);
  }
});

test('hints older than the hint window are dropped, not delivered (anti-entropy repairs instead)', async () => {
  const h = loopbackCluster(5, { hintWindowMs: 1000 }, { liveness: true });
  try {
    const key = k('expiring');
    const { primaries, fallbacks } = listOf(h, key);
    h.net.down.add(primaries[2]);
    await h.nodes[idx(primaries[0])].put(key, k('old'), { w: 3 });
    await new Promise((r) => setTimeout(r, 1200));
    h.net.down.delete(primaries[2]);
    await until(async () => (await hintCount(h, fallbacks[0])) === 0);
    assert.equal(h.nodes[idx(fallbacks[0])].hints.stats.droppedForAge, 1);
    assert.deepEqual(await stored(h, primaries[2], key), []);
  } finally {
    await stopAll(h);
  }
});

// Known gap, found by `npm run bench:cluster-ops -- --only hints` on real processes: a node killed with
// kill -9 is believed up for the ~1.3 s until the detector convicts it; writes acknowledged at W by the
// others meanwhile get no hint (a hint is kept only for a primary already believed down), so after the
// hints drain that node still lacks them until anti-entropy or a read repairs them. Marked todo until
// a failed replica write leaves a hint too (as Cassandra's does for a write that fails or times out).
test('a replica write that fails on a primary still believed up leaves a hint for it', { todo: 'hints only for primaries already believed down' }, async () => {
  const h = loopbackCluster(3, {}, { liveness: true });
  try {
    const key = k('undetected');
    const [a, , c] = listOf(h, key).primaries;
    h.net.faults.push({ from: a, to: c, type: 'replicate', kind: 'refuse' });
    await h.nodes[idx(a)].put(key, k('v'), { w: 2 });
    let hints = 0;
    for (const m of h.members) hints += await hintCount(h, m.id);
    assert.equal(hints, 1, `a hint for ${c}, whose copy of the write was refused`);
    await until(async () => (await stored(h, c, key)).length === 1);
  } finally {
    await stopAll(h);
  }
});
