import test from 'node:test';
import assert from 'node:assert/strict';
import { partitionOf } from '../../../src/core/hash.js';
import { buildRing } from '../../../src/core/ring.js';
import { decodeObject } from '../../../src/cluster/object-codec.js';
import { loopbackCluster, type LoopbackCluster } from '../loopback-cluster.js';

const k = (s: string) => Buffer.from(s);
const idx = (id: string) => Number(id.slice(1)) - 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const values = (r: { siblings: { value: Uint8Array }[] }) => r.siblings.map((s) => Buffer.from(s.value).toString()).sort();

function primaries(h: LoopbackCluster, key: Uint8Array): string[] {
  const ring = buildRing(h.members, h.config.partitions);
  return [...ring.preferenceList(partitionOf(key, ring.partitions), h.config.n).primaries];
}

const GRACE = { hintWindowMs: 100, tombstoneGraceMs: 300 };

async function deleted(h: LoopbackCluster, key: Uint8Array, value: string): Promise<void> {
  await h.nodes[0].put(key, k(value), { w: 3 });
  const read = await h.nodes[0].get(key, { r: 3 });
  await h.nodes[0].delete(key, { w: 3, context: read.context });
}

async function storedEverywhere(h: LoopbackCluster, key: Uint8Array): Promise<boolean[]> {
  const p = partitionOf(key, h.config.partitions);
  return Promise.all(h.engines.map(async (e) => (await e.get(p, key)) !== undefined));
}

test('a tombstone every replica holds is reaped after the grace, from every replica', async () => {
  const h = loopbackCluster(3, GRACE, { liveness: true, drainGraceMs: 0 });
  try {
    const key = k('gone');
    await deleted(h, key, 'v');
    const leader = h.nodes[idx(primaries(h, key)[0])];
    assert.equal(await leader.reaper.reapOnce(), 0, 'not before the grace');
    await sleep(350);
    assert.equal(await leader.reaper.reapOnce(), 1);
    assert.deepEqual(await storedEverywhere(h, key), [false, false, false]);
    assert.equal((await h.nodes[1].get(key, { r: 3 })).siblings.length, 0);
  } finally {
    for (const n of h.nodes) await n.stop();
  }
});

test('no reap while a replica is down, or while one holds another version', async () => {
  const h = loopbackCluster(3, GRACE, { liveness: true, drainGraceMs: 0 });
  try {
    const key = k('held');
    await deleted(h, key, 'v');
    await sleep(350);
    const [lead, , third] = primaries(h, key);
    h.net.down.add(third);
    assert.equal(await h.nodes[idx(lead)].reaper.reapOnce(), 0);
    assert.ok(h.nodes[idx(lead)].reaper.stats.blockedNotAllLive > 0);
    h.net.down.delete(third);
    // third holds the value (it missed the delete): versions disagree
    const p = partitionOf(key, h.config.partitions);
    const other = k('other');
    await h.nodes[0].put(other, k('x'), { w: 3 });
    const stale = await h.engines[idx(third)].get(p, key);
    await h.engines[idx(third)].put(p, key, (await h.engines[idx(lead)].get(partitionOf(other, h.config.partitions), other)) ?? stale!);
    assert.equal(await h.nodes[idx(lead)].reaper.reapOnce(), 0);
    assert.ok(h.nodes[idx(lead)].reaper.stats.disagreements > 0);
    assert.deepEqual((await storedEverywhere(h, key)).filter(Boolean).length, 3);
  } finally {
    for (const n of h.nodes) await n.stop();
  }
});

// Riak's doomstone: a stale copy of the delete, handed back after the primaries reaped it and a new
// write arrived, must not destroy the new write
test('a write after the reap survives a stale copy of the reaped delete', async () => {
  const h = loopbackCluster(3, GRACE, { liveness: true, drainGraceMs: 0 });
  try {
    const key = k('doom');
    await deleted(h, key, 'old');
    const p = partitionOf(key, h.config.partitions);
    const staleTombstone = (await h.engines[0].get(p, key))!;
    assert.equal(decodeObject(staleTombstone, 't').siblings.length, 0);
    await sleep(350);
    await h.nodes[idx(primaries(h, key)[0])].reaper.reapOnce();
    assert.deepEqual(await storedEverywhere(h, key), [false, false, false]);
    await h.nodes[1].put(key, k('reborn'), { w: 3 });
    // the stale delete comes back (a stand-in's old hint, a node's old copy)
    const handler = h.net.handlers.get(primaries(h, key)[0])!;
    await handler('n9', { type: 'replicate', partition: p, key, object: staleTombstone });
    const after = await h.nodes[2].get(key, { r: 3 });
    assert.ok(values(after).includes('reborn'), `the new write survived: ${JSON.stringify(values(after))}`);
  } finally {
    for (const n of h.nodes) await n.stop();
  }
});
