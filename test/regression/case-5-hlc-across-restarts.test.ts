import test from 'node:test';
import assert from 'node:assert/strict';
import type { SiblingView } from '../../src/cluster/kv-service.js';
import { compareLww, dec, enc, RegressionCluster } from './kit.js';

/**
 * Issue 8, case 5: the hybrid logical clock must not go backwards across a restart, and a node must
 * not adopt a peer's timestamp more than 500 ms ahead of its own clock — else RESP's
 * last-writer-wins pick between the same two writers flips when a node restarts.
 */
const MAX_OFFSET_MS = 500;

function view(siblings: SiblingView[], value: string): SiblingView {
  const v = siblings.find((s) => s.kind === 'bytes' && dec(s.value) === value);
  assert.ok(v, `no sibling ${value} among ${JSON.stringify(siblings.map((s) => dec(s.value)))}`);
  return v;
}

/** n1 60 s ahead writes A; then blind B through n2; returns the siblings as an r=3 read sees them and n2's clock after B */
async function writeAheadThenBehind(c: RegressionCluster): Promise<{ siblings: SiblingView[]; n2ClockAfterB: number }> {
  c.cluster.setClockSkew('n1', 60_000);
  await c.ok('n1', (n) => n.put(enc('k'), enc('A'), { w: 3 }), 'PUT A through n1');
  await c.settle(100);
  await c.ok('n2', (n) => n.put(enc('k'), enc('B'), { w: 3 }), 'blind PUT B through n2');
  const n2ClockAfterB = c.cluster.nodeNowMs('n2');
  return { siblings: (await c.read('n3', 'k')).siblings, n2ClockAfterB };
}

test("case 5: with n1 60 s ahead, blind writes through n2 sort the same against n1's write before and after n2 restarts", async () => {
  const c = await RegressionCluster.start({ nodeCount: 3 });
  const { siblings: before } = await writeAheadThenBehind(c);
  const a = view(before, 'A');
  const b = view(before, 'B');
  c.cluster.crash('n2');
  await c.cluster.restart('n2');
  await c.settle(100);
  await c.ok('n2', (n) => n.put(enc('k'), enc('C'), { w: 3 }), 'blind PUT C through n2 after its restart');
  const after = (await c.read('n3', 'k')).siblings;
  const c2 = view(after, 'C');
  assert.equal(
    Math.sign(compareLww(c2, view(after, 'A'))),
    Math.sign(compareLww(b, a)),
    `last-writer-wins flipped: before n2's restart its write ${compareLww(b, a) > 0 ? 'beat' : 'lost to'} n1's, after it ${compareLww(c2, a) > 0 ? 'beats' : 'loses to'} it`,
  );
  assert.ok(compareLww(c2, view(after, 'B')) > 0, `n2's HLC went backwards across its restart: C (${c2.hlcWallMs}.${c2.hlcLogical}) sorts before B (${b.hlcWallMs}.${b.hlcLogical})`);
  await c.cluster.stopAll();
});

test(`case 5: a node does not adopt a peer's timestamp more than ${MAX_OFFSET_MS} ms ahead of its own clock`, async () => {
  const c = await RegressionCluster.start({ nodeCount: 3 });
  const { siblings, n2ClockAfterB } = await writeAheadThenBehind(c);
  const b = view(siblings, 'B');
  assert.ok(
    b.hlcWallMs <= n2ClockAfterB + MAX_OFFSET_MS,
    `n2 stamped B at ${b.hlcWallMs}, ${b.hlcWallMs - n2ClockAfterB} ms ahead of its own clock: it adopted n1's timestamp from 60 s in the future`,
  );
  await c.cluster.stopAll();
});
