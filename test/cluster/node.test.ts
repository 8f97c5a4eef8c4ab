import test from 'node:test';
import assert from 'node:assert/strict';
import { ClusterNode } from '../../src/cluster/node.js';
import { DEFAULT_CLUSTER_CONFIG } from '../../src/cluster/cluster-config.js';
import { MemoryEngine } from '../../src/storage/memory-engine.js';
import { RingkvError } from '../../src/core/errors.js';
import type { Clock } from '../../src/cluster/runtime.js';
import { LoopbackNetwork } from './loopback-transport.js';

const clock: Clock = {
  nowMs: () => 1_700_000_000_000,
  monotonicMs: () => performance.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

function cluster(count: number, overrides: Partial<typeof DEFAULT_CLUSTER_CONFIG> = {}) {
  const net = new LoopbackNetwork();
  const members = Array.from({ length: count }, (_, i) => ({ id: `n${i + 1}`, address: `n${i + 1}`, weight: 1 }));
  const nodes = members.map((m) => {
    const node = new ClusterNode({
      self: m.id,
      members,
      config: { ...DEFAULT_CLUSTER_CONFIG, requestTimeoutMs: 500, aaeEnabled: false, ...overrides },
      clock,
      random: { next: () => 0.5, int: () => 0 },
      transport: net.transport(m.id),
      engine: new MemoryEngine(),
    });
    node.start();
    return node;
  });
  return { net, nodes };
}

const k = (s: string) => Buffer.from(s);
const values = (r: { siblings: { value: Uint8Array }[] }) => r.siblings.map((s) => Buffer.from(s.value).toString()).sort();

test('put on one node, get on every node', async () => {
  const { nodes } = cluster(3);
  await nodes[0].put(k('a'), k('1'));
  for (const n of nodes) assert.deepEqual(values(await n.get(k('a'))), ['1']);
});

test('blind writes become siblings; a write with the read context collapses them', async () => {
  const { nodes } = cluster(3);
  await nodes[0].put(k('s'), k('x'));
  await nodes[1].put(k('s'), k('y'));
  const read = await nodes[2].get(k('s'));
  assert.deepEqual(values(read), ['x', 'y']);
  await nodes[2].put(k('s'), k('z'), { context: read.context });
  assert.deepEqual(values(await nodes[0].get(k('s'))), ['z']);
});

test('delete hides the key', async () => {
  const { nodes } = cluster(3);
  await nodes[0].put(k('d'), k('x'));
  const read = await nodes[1].get(k('d'));
  await nodes[1].delete(k('d'), { context: read.context });
  assert.deepEqual((await nodes[2].get(k('d'))).siblings, []);
});

test('one node of three down: w=2 succeeds, w=3 fails with QUORUM_NOT_MET saying how many answered', async () => {
  const { net, nodes } = cluster(3);
  net.down.add('n3');
  await nodes[0].put(k('q'), k('1'), { w: 2 });
  await assert.rejects(nodes[0].put(k('q'), k('2'), { w: 3 }), (e: unknown) => e instanceof RingkvError && e.code === 'QUORUM_NOT_MET' && e.httpStatus === 503 && /2 of 3/.test(e.message));
  assert.deepEqual(values(await nodes[1].get(k('q'), { r: 2 })).length >= 1, true);
});

test('a non-replica coordinator forwards writes to a replica (5 nodes, n=3)', async () => {
  const { nodes } = cluster(5);
  for (let i = 0; i < 40; i++) await nodes[i % 5].put(k(`key${i}`), k(`v${i}`));
  for (let i = 0; i < 40; i++) assert.deepEqual(values(await nodes[(i + 2) % 5].get(k(`key${i}`))), [`v${i}`]);
});

test('counters: increments through different nodes all count', async () => {
  const { nodes } = cluster(3);
  await Promise.all(nodes.flatMap((n) => [n.increment(k('c'), 5n), n.increment(k('c'), -2n)]));
  const r = await nodes[0].get(k('c'), { r: 3 });
  assert.equal(r.siblings.length, 1);
  assert.equal(Buffer.from(r.siblings[0].value).toString(), '9');
});

test('bad parameters are refused with clear errors', async () => {
  const { nodes } = cluster(3);
  await assert.rejects(nodes[0].get(k('a'), { r: 4 }), (e: unknown) => e instanceof RingkvError && e.code === 'BAD_PARAMETER' && /r=4/.test(e.message));
  await assert.rejects(nodes[0].put(Buffer.alloc(2000), k('x')), (e: unknown) => e instanceof RingkvError && e.code === 'KEY_TOO_LARGE' && /1024/.test(e.message));
  await assert.rejects(nodes[0].put(k('a'), k('x'), { context: '%%%' }), (e: unknown) => e instanceof RingkvError && e.code === 'MALFORMED_CONTEXT');
});

test('malformed internode messages get an error reply, not a crash', async () => {
  const { net } = cluster(3);
  const h = net.handlers.get('n1')!;
  const malformed = [
    { type: 'nope' },
    { type: 'read' },
    { type: 'replicate', partition: 1, key: k('a'), object: { vv: 'x' } },
    { type: 'replicate', partition: 1, key: k('a'), object: Buffer.from([0xc1]) }, // not msgpack
    { type: 'replicate', partition: 1, key: k('a'), object: Buffer.from([0x93, 1, 2, 3]) }, // msgpack, not an object
    { type: 'coordinate_write', key: 5 },
  ];
  for (const msg of malformed) {
    await assert.rejects(h('n2', msg as any), (e: unknown) => e instanceof RingkvError);
  }
});
