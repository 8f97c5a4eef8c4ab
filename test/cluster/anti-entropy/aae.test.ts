import test from 'node:test';
import assert from 'node:assert/strict';
import { AaeTrees } from '../../../src/cluster/anti-entropy/aae-trees.js';
import { KeyLock } from '../../../src/cluster/key-lock.js';
import { ByteRateLimiter } from '../../../src/cluster/anti-entropy/byte-rate-limiter.js';
import { encodeObject, decodeObject } from '../../../src/cluster/object-codec.js';
import type { Clock } from '../../../src/cluster/runtime.js';
import { applyWrite } from '../../../src/core/version/versioned-object.js';
import { EMPTY_CONTEXT } from '../../../src/core/version/context-token.js';
import { partitionOf } from '../../../src/core/hash.js';
import { MemoryEngine } from '../../../src/storage/memory-engine.js';
import { loopbackCluster } from '../loopback-cluster.js';

const k = (s: string) => Buffer.from(s);
const cluster = (count: number, partitions = 16) => loopbackCluster(count, { partitions, requestTimeoutMs: 1000 });

async function storedObjects(engine: MemoryEngine): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of engine.scan(0, 1 << 16)) out.set(Buffer.from(e.key).toString(), JSON.stringify(decodeObject(e.value, 'test')));
  return out;
}

test('a node back with an empty disk is rebuilt by anti-entropy alone, and only its data moves', async () => {
  const h = cluster(3);
  for (let i = 0; i < 300; i++) await h.nodes[i % 3].put(k(`key-${i}`), k(`value-${i}`), { w: 3 });
  const before = await storedObjects(h.engines[2]);
  assert.equal(before.size, 300);
  h.wipe(2);
  const results = await h.nodes[2].antiEntropy.repairAll('test: wiped disk');
  const after = await storedObjects(h.engines[2]);
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
  for (const [key, obj] of before) assert.equal(after.get(key), obj, `${key} rebuilt identically`);
  const pulled = results.reduce((n, r) => n + r.pulled, 0);
  const pushed = results.reduce((n, r) => n + r.pushed, 0);
  assert.equal(pushed, 0, 'nothing is pushed to the nodes that are complete');
  assert.ok(pulled >= 300, `pulled ${pulled}`);
  const s = h.nodes[2].antiEntropy.stats;
  assert.equal(s.fullRepairDone, s.fullRepairTotal);
  assert.ok(s.fullRepairTotal > 0);
});

test('replicas that missed writes are repaired one way; replicas in sync exchange only hashes', async () => {
  const h = cluster(3);
  for (let i = 0; i < 200; i++) await h.nodes[0].put(k(`key-${i}`), k(`v-${i}`), { w: 3 });
  // in sync: one round trip per exchange, no keys
  const quiet = await h.nodes[0].antiEntropy.repairAll('test: in sync');
  assert.ok(quiet.every((r) => r.differingSegments === 0 && r.pushed === 0 && r.pulled === 0));
  const hashBytes = quiet.reduce((n, r) => n + r.bytesSent + r.bytesReceived, 0);
  // n3 misses 20 writes
  h.net.down.add('n3');
  for (let i = 0; i < 20; i++) await h.nodes[0].put(k(`late-${i}`), k(`v-${i}`), { w: 2 });
  h.net.down.delete('n3');
  const repaired = await h.nodes[2].antiEntropy.repairAll('test: missed writes');
  const pulled = repaired.reduce((n, r) => n + r.pulled, 0);
  const pushed = repaired.reduce((n, r) => n + r.pushed, 0);
  assert.equal(pushed, 0);
  assert.ok(pulled >= 20 && pulled <= 40, `each missed key is pulled from each of its other replicas at most: ${pulled}`);
  const n3 = await storedObjects(h.engines[2]);
  for (let i = 0; i < 20; i++) assert.ok(n3.has(`late-${i}`));
  const n1 = await storedObjects(h.engines[0]);
  for (const [key, obj] of n1) assert.equal(n3.get(key), obj);
  assert.ok(hashBytes < 200 * 100, `in-sync exchanges move only hashes (${hashBytes} bytes)`);
});

test('concurrent versions on two replicas are merged on both (pull, merge, push back)', async () => {
  const h = cluster(3, 1);
  const key = k('both');
  const p = partitionOf(key, 1);
  const limits = { siblingLimitCount: 100 };
  const a = applyWrite(undefined, EMPTY_CONTEXT, 'x#1', { kind: 'bytes', bytes: k('a') }, { wallMs: 1, logical: 0 }, limits);
  const b = applyWrite(undefined, EMPTY_CONTEXT, 'y#1', { kind: 'bytes', bytes: k('b') }, { wallMs: 2, logical: 0 }, limits);
  await h.engines[0].put(p, key, encodeObject(a));
  await h.engines[1].put(p, key, encodeObject(b));
  const r = await h.nodes[0].antiEntropy.exchangeNow(p, 'n2');
  assert.equal(r.pulled, 1);
  assert.equal(r.pushed, 1);
  const one = decodeObject((await h.engines[0].get(p, key))!, 't');
  const two = decodeObject((await h.engines[1].get(p, key))!, 't');
  assert.equal(one.siblings.length, 2);
  assert.equal(JSON.stringify(one), JSON.stringify(two));
});

test('tree rebuilt while writes land equals the tree kept by the write hooks', async () => {
  const h = cluster(1, 1);
  h.nodes[0].config.n = 1;
  const engine = new MemoryEngine();
  const lock = new KeyLock();
  const access = {
    readLocked: (_p: number, key: Uint8Array) =>
      lock.run(key.toString(), async () => {
        const b = await engine.get(0, key);
        return b ? decodeObject(b, 't') : undefined;
      }),
    keysInFlight: () => [...lock.activeSlots()].map((s) => Buffer.from(s)),
  };
  const trees = new AaeTrees(engine, 64, 8, () => access);
  const hooked = new AaeTrees(engine, 64, 8, () => access);
  await hooked.rebuild(0);
  const limits = { siblingLimitCount: 100 };
  const put = (i: number) => {
    const key = k(`k${i % 50}`);
    return lock.run(key.toString(), async () => {
      const before = await engine.get(0, key);
      const old = before ? decodeObject(before, 't') : undefined;
      const obj = applyWrite(old, EMPTY_CONTEXT, 'a#1', { kind: 'bytes', bytes: k(String(i)) }, { wallMs: i, logical: 0 }, limits);
      await engine.put(0, key, encodeObject(obj));
      trees.onStored(0, key, old, obj);
      hooked.onStored(0, key, old, obj);
    });
  };
  for (let i = 0; i < 100; i++) await put(i);
  const rebuilding = trees.rebuild(0);
  await Promise.all(Array.from({ length: 100 }, (_, j) => put(100 + j))); // interleaved with the scan, several in flight
  await rebuilding;
  for (let i = 200; i < 220; i++) await put(i);
  assert.equal(trees.ready(0)!.root, hooked.ready(0)!.root);
  const fresh = new AaeTrees(engine, 64, 8, () => access);
  await fresh.rebuild(0);
  assert.equal(fresh.ready(0)!.root, hooked.ready(0)!.root);
});

test('malformed anti-entropy messages get an error reply, never a crash', async () => {
  const h = cluster(3, 4);
  const handler = h.net.handlers.get('n1')!;
  for (const msg of [
    { type: 'aae_branches' },
    { type: 'aae_branches', partition: 999 },
    { type: 'aae_branches', partition: 0, leafCount: 1024, fanout: 32, branches: 'nope' },
    { type: 'aae_keys', partition: 0, segments: [99999], limit: 10 },
    { type: 'aae_keys', partition: 0, segments: [1], limit: 0 },
    { type: 'aae_fetch', partition: 0, keys: 'x' },
    { type: 'aae_push', partition: 0, entries: [{ key: k('a'), object: k('not msgpack') }] },
    { type: 'aae_nope', partition: 0 },
  ]) {
    await assert.rejects(handler('n2', msg as never));
  }
});

test('the byte-rate limiter paces to its rate and never stalls on a take larger than a second\'s worth', async () => {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void }> = [];
  const fake: Clock = { nowMs: () => now, monotonicMs: () => now, setTimer: (ms, fn) => (timers.push({ at: now + ms, fn }), { cancel: () => undefined }) };
  const limiter = new ByteRateLimiter(fake, 1000);
  const run = async (p: Promise<void>) => {
    let done = false;
    void p.then(() => (done = true));
    while (!done) {
      await new Promise((r) => setImmediate(r));
      timers.sort((a, b) => a.at - b.at);
      const t = timers.shift();
      if (t) {
        now = t.at;
        t.fn();
      }
    }
  };
  await run(limiter.take(1000));
  assert.equal(now, 0, 'the first second is in the bucket');
  await run(limiter.take(500));
  assert.ok(now >= 500 && now < 600, `waited ~0.5 s (${now})`);
  await run(limiter.take(5000));
  assert.ok(now < 3000, `a huge take waits for a full bucket, not for ever (${now})`);
});

test('a node started on an empty disk repairs itself on its own (through start, not a direct call)', async () => {
  const h = loopbackCluster(3, { partitions: 8, requestTimeoutMs: 1000, aaeEnabled: true, aaeExchangePeriodMs: 3_600_000 });
  try {
    for (let i = 0; i < 60; i++) await h.nodes[0].put(k(`key-${i}`), k(`v-${i}`), { w: 3 });
    await h.nodes[2].stop();
    h.wipe(2);
    const deadline = Date.now() + 20_000;
    while ((await storedObjects(h.engines[2])).size < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await storedObjects(h.engines[2])).size, 60);
    assert.equal(h.nodes[2].antiEntropy.stats.fullRepairDone, h.nodes[2].antiEntropy.stats.fullRepairTotal);
  } finally {
    for (const n of h.nodes) await n.stop();
  }
});
