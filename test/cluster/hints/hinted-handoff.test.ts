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

test('a primary that misses a write before it is detected down gets a hint from the coordinator, handed back once it answers', async () => {
  const h = loopbackCluster(3, {}, { liveness: true });
  try {
    const key = k('undetected');
    const [a, , c] = listOf(h, key).primaries;
    // c is believed up, but its replicas requests fail (just crashed, not yet detected)
    h.net.faults.push({ from: a, to: c, type: 'replicate', kind: 'refuse', times: 1 });
    await h.nodes[idx(a)].put(key, k('v'), { w: 2 });
    await until(async () => (await hintCount(h, a)) === 1);
    await until(async () => (await stored(h, c, key)).length === 1);
    assert.deepEqual(await stored(h, c, key), ['v']);
    await until(async () => (await hintCount(h, a)) === 0);
  } finally {
    await stopAll(h);
  }
});

// Found by the simulator (hinted-handoff, seed 5): a stand-in's plain ack was taken for a malformed
// reply to an increment (which asks replicas for their object), so a sloppy INCR could not reach W
test('an increment reaches W through a stand-in too, and the counter reaches the primary when it returns', async () => {
  const h = loopbackCluster(5, {}, { liveness: true });
  try {
    const key = k('sloppy-counter');
    const { primaries, fallbacks } = listOf(h, key);
    const [a, , c] = primaries;
    await h.nodes[idx(a)].increment(key, 2n, { w: 3 });
    h.net.down.add(c);
    assert.equal(await h.nodes[idx(a)].increment(key, 3n, { w: 3 }), 5n);
    assert.equal(await hintCount(h, fallbacks[0]), 1, 'the stand-in keeps a hint for the down primary');
    h.net.down.delete(c);
    await until(async () => (await hintCount(h, fallbacks[0])) === 0);
    const onC = await h.engines[idx(c)].get(partitionOf(key, h.config.partitions), key);
    assert.ok(onC && decodeObject(onC, 't').siblings.some((s) => s.value.kind === 'counter'), 'the hint brought the counter to the primary');
  } finally {
    await stopAll(h);
  }
});
