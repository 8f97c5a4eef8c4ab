import test from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAcknowledgedWritesVisible,
  checkConvergence,
  checkCounterBounds,
  checkDeletesStayDeleted,
  checkLiveness,
  checkReadsReturnWrittenValues,
  checkSupersededValuesStayGone,
  type CheckOptions,
} from '../../src/sim/checkers.js';
import { RingkvError } from '../../src/core/errors.js';
import { describeVersionedObject } from '../../src/sim/node-factories.js';
import { History, type OpRecord } from '../../src/sim/history.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { recorder } from './history-dsl.js';

const N = { n: 3 };

test('a put missing from a later quorum read is a violation; a concurrent read is not', () => {
  const { h, put, get, ok } = recorder();
  const early = get('k');
  const p = put('k', 'a');
  ok(early, []); // overlapped the put: may miss it
  ok(p);
  const g = get('k');
  ok(g, []);
  const v = checkAcknowledgedWritesVisible(h.ops, N);
  assert.equal(v.length, 1);
  assert.deepEqual(v[0].opIds, [p.id, g.id]);
  assert.match(v[0].message, /acknowledged write lost/);
});

test('reads and writes whose quorums need not intersect are not checked', () => {
  const { h, put, get, ok } = recorder();
  const p = put('k', 'a', 1);
  ok(p);
  const g = get('k', 2); // 1 + 2 = 3, not > n
  ok(g, []);
  assert.deepEqual(checkAcknowledgedWritesVisible(h.ops, N), []);
  const g3 = get('k', 3);
  ok(g3, []);
  assert.equal(checkAcknowledgedWritesVisible(h.ops, N).length, 1);
});

test('a write carrying the context of a read that saw v may make v disappear, even if it failed', () => {
  const { h, put, del, get, ok } = recorder();
  const p = put('k', 'a');
  ok(p);
  const r1 = get('k');
  ok(r1, ['a']);
  const x = put('k', 'b', 2, r1);
  h.fail(x, new Error('timeout')); // failed, but may have reached a replica
  const g = get('k');
  ok(g, []);
  assert.deepEqual(checkAcknowledgedWritesVisible(h.ops, N), []);
  // a blind write does not supersede anything
  const { h: h2, put: put2, get: get2, ok: ok2 } = recorder();
  const p2 = put2('k', 'a');
  ok2(p2);
  ok2(put2('k', 'b'));
  const g2 = get2('k');
  ok2(g2, ['b']);
  assert.equal(checkAcknowledgedWritesVisible(h2.ops, N).length, 1);
  // a write invoked after the read completed cannot explain it
  const { h: h3, put: put3, get: get3, ok: ok3 } = recorder();
  ok3(put3('k', 'a'));
  const r3 = get3('k');
  ok3(r3, ['a']);
  const g3 = get3('k');
  ok3(g3, []);
  ok3(put3('k', 'c', 2, r3));
  assert.equal(checkAcknowledgedWritesVisible(h3.ops, N).length, 1);
  // a delete with context supersedes too
  const { h: h4, put: put4, get: get4, del: del4, ok: ok4 } = recorder();
  ok4(put4('k', 'a'));
  const r4 = get4('k');
  ok4(r4, ['a']);
  ok4(del4('k', r4));
  ok4(get4('k'), []);
  assert.deepEqual(checkAcknowledgedWritesVisible(h4.ops, N), []);
  void del;
});

test('superseded values must not come back after the superseding write is acknowledged', () => {
  const { h, put, get, ok } = recorder();
  ok(put('k', 'a'));
  ok(put('k', 'b'));
  const r = get('k');
  ok(r, ['a', 'b']);
  const m = put('k', 'm', 2, r);
  const during = get('k');
  ok(during, ['a', 'b']); // overlapped m: allowed
  ok(m);
  assert.deepEqual(checkSupersededValuesStayGone(h.ops, N), []);
  const after = get('k');
  ok(after, ['a', 'm']);
  const v = checkSupersededValuesStayGone(h.ops, N);
  assert.equal(v.length, 1);
  assert.match(v[0].message, /\["a"\] came back/);
});

test('reads may only return values written before they completed, each once', () => {
  const { h, put, get, ok } = recorder();
  const g0 = get('k');
  const p = put('k', 'a');
  ok(g0, ['a']); // the put was invoked before the read completed: fine
  ok(p);
  assert.deepEqual(checkReadsReturnWrittenValues(h.ops), []);
  const g1 = get('k');
  ok(g1, ['a', 'a']);
  const g2 = get('other');
  ok(g2, ['a']);
  const kinds = checkReadsReturnWrittenValues(h.ops).map((v) => v.message);
  assert.equal(kinds.length, 2);
  assert.match(kinds[0], /appears twice/);
  assert.match(kinds[1], /no earlier put of that key/);
});

test('liveness: pending ops and slow ops are violations unless their node crashed', () => {
  const { h, put, get, ok, tick } = recorder();
  const slow = get('k');
  tick(5000);
  ok(slow, []);
  const hung = put('k', 'a');
  const crashed = put('k', 'b');
  const v = checkLiveness(h.ops, { maxOpMs: 1000, crashedOpIds: new Set([crashed.id]) });
  assert.deepEqual(v.map((x) => x.opIds[0]).sort(), [slow.id, hung.id].sort());
});

test('counter bounds: lost increments and double counting are violations, in-flight ones are not', () => {
  const { h, ok } = recorder();
  const inc = (delta: number, w = 2) => h.invoke({ client: 'c', node: 'n1', kind: 'increment', key: 'k', delta: String(delta), w });
  const read = (r = 2) => h.invoke({ client: 'c', node: 'n2', kind: 'get', key: 'k', r });
  const okCount = (op: OpRecord, v: number) => h.complete(op, { counterValue: String(v), readValues: op.kind === 'get' ? [] : undefined });
  const first = inc(5);
  okCount(first, 5);
  const pendingInc = inc(3); // never answers: may or may not count
  const dec = inc(-2);
  const r1 = read();
  okCount(dec, 6);
  okCount(r1, 6); // 5 + 3 - 2, with the pending one applied and the concurrent decrement seen
  assert.deepEqual(checkCounterBounds(h.ops, N), []);
  const r2 = read();
  okCount(r2, 2); // below 5 - 2: the acknowledged +5 was lost
  const r3 = read();
  okCount(r3, 9); // above 5 + 3 - 2: something counted twice
  const r4 = read(1);
  okCount(r4, 1); // r=1 with w=2 need not see anything acknowledged ... but the upper bound still holds
  const v = checkCounterBounds(h.ops, N);
  assert.deepEqual(v.map((x) => x.opIds[0]), [r2.id, r3.id]);
  void first;
  assert.match(v[0].message, /increment lost/);
  assert.match(v[1].message, /counted twice/);
  void ok;
  void pendingInc;
});

/** counters: increments, reads and deletes on one key */
function counterRecorder() {
  const clock = new VirtualClock(0);
  const h = new History(clock);
  const inc = (delta: number, w = 2) => h.invoke({ client: 'c', node: 'n1', kind: 'increment', key: 'ctr', delta: String(delta), w });
  const read = (r = 2) => h.invoke({ client: 'c', node: 'n2', kind: 'get', key: 'ctr', r });
  const del = (g: OpRecord, w = 2) => h.invoke({ client: 'c', node: 'n3', kind: 'delete', key: 'ctr', w, contextFromOp: g.id, supersedes: [] });
  /** completes an increment with its answer, or a read with the counter (undefined: nothing live) */
  const ok = (op: OpRecord, v?: number) =>
    h.complete(op, op.kind === 'get' ? { readValues: [], readContext: 'ctx', counterValue: v === undefined ? undefined : String(v) } : op.kind === 'increment' ? { counterValue: String(v) } : {});
  return { h, inc, read, del, ok, clock };
}

test('PUT-returned contexts: the put they came from is superseded; it must not come back and need not be visible', () => {
  const { h, put, get, ok } = recorder();
  const p1 = put('k', 'v1');
  ok(p1);
  const p2 = put('k', 'v2', 2, p1); // carries p1's returned context
  assert.deepEqual(p2.supersedes, ['v1']);
  ok(p2);
  const good = get('k');
  ok(good, ['v2']);
  assert.deepEqual(checkAcknowledgedWritesVisible(h.ops, N), [], 'v1 is covered by v2, not lost');
  assert.deepEqual(checkSupersededValuesStayGone(h.ops, N), []);
  const bad = get('k');
  ok(bad, ['v1', 'v2']); // case 4 of issue 8: the PUT's own context did not supersede it at every replica
  const v = checkSupersededValuesStayGone(h.ops, N);
  assert.equal(v.length, 1);
  assert.deepEqual(v[0].opIds, [p2.id, bad.id]);
  // a chain: p3 with p2's context covers v1 and v2
  const p3 = put('k', 'v3', 2, p2);
  assert.deepEqual(p3.supersedes, ['v1', 'v2']);
});

test('deletes stay deleted: a deleted value back in a later quorum read is a violation, one in an overlapping read is not', () => {
  const { h, put, del, get, ok } = recorder();
  ok(put('k', 'a'));
  const r = get('k');
  ok(r, ['a']);
  const d = del('k', r);
  const during = get('k');
  ok(during, ['a']);
  ok(d);
  ok(get('k', 1), ['a']); // r=1 + w=2 does not exceed n=3: may miss the tombstone
  assert.deepEqual(checkDeletesStayDeleted(h.ops, N), []);
  const back = get('k');
  ok(back, ['a']);
  const v = checkDeletesStayDeleted(h.ops, N);
  assert.equal(v.length, 1);
  assert.equal(v[0].checker, 'deletes-stay-deleted');
  assert.deepEqual(v[0].opIds, [d.id, back.id]);
  assert.deepEqual(checkSupersededValuesStayGone(h.ops, N), [], 'deletes are their own checker');
});

test('a write refused with a 4xx was not applied: it neither explains a value nor supersedes one; a 5xx may have been applied', () => {
  const { h, put, get, ok } = recorder();
  const refused = put('k', 'x');
  h.fail(refused, new RingkvError('BAD_PARAMETER', 'w=9 is out of range'));
  const unknown = put('k', 'y');
  h.fail(unknown, new RingkvError('TIMEOUT', 'may have been applied'));
  const g = get('k');
  ok(g, ['x', 'y']);
  const v = checkReadsReturnWrittenValues(h.ops);
  assert.equal(v.length, 1);
  assert.match(v[0].message, /"x", which no earlier put/);
  // a refused superseding write does not excuse a missing acknowledged value
  const { h: h2, put: put2, get: get2, ok: ok2 } = recorder();
  ok2(put2('k', 'a'));
  const r2 = get2('k');
  ok2(r2, ['a']);
  const x2 = put2('k', 'b', 2, r2);
  h2.fail(x2, new RingkvError('MALFORMED_CONTEXT', 'context of another key'));
  ok2(get2('k'), []);
  assert.equal(checkAcknowledgedWritesVisible(h2.ops, N).length, 1);
});

test('data loss: an acknowledged write a crash may have undone is not required; one acknowledged after the loss is', () => {
  const { h, put, get, ok, tick } = recorder();
  const early = put('k', 'early');
  tick(10);
  ok(early); // acknowledged at 10 ms
  tick(100);
  const late = put('k', 'late');
  tick(10);
  ok(late); // acknowledged at 120 ms
  tick(100);
  const g = get('k');
  ok(g, []);
  const loss = (lostSinceMs: number, node = 'n1'): CheckOptions => ({ n: 3, dataLoss: [{ node, atMs: 115, lostSinceMs }], replicasOf: () => ['n1', 'n2', 'n3'] });
  // periodic crash at 115 ms losing what was applied since 105 ms: `early` is safe, `late` may be lost
  assert.deepEqual(checkAcknowledgedWritesVisible(h.ops, loss(105)).map((v) => v.opIds[0]), [early.id]);
  // a replaced disk at 115 ms loses everything applied before: both were (at least partly)
  assert.deepEqual(checkAcknowledgedWritesVisible(h.ops, loss(-Infinity)), []);
  // loss at a node that is not a replica of the key changes nothing
  assert.equal(checkAcknowledgedWritesVisible(h.ops, loss(-Infinity, 'n9')).length, 2);
  assert.equal(checkAcknowledgedWritesVisible(h.ops, N).length, 2);
});

test('counter bounds with deletes: DEL removes what its read saw; INCR after DEL counts from zero (issue 8 case 2)', () => {
  const { h, inc, read, del, ok } = counterRecorder();
  for (let i = 0; i < 5; i++) ok(inc(1, 3), i + 1);
  const g = read(3);
  ok(g, 5);
  const d = del(g, 2);
  ok(d);
  const after = inc(1, 3); // through the replica the DEL missed
  ok(after, 6); // today's answer: the deleted total came back
  const v = checkCounterBounds(h.ops, N);
  assert.equal(v.length, 1);
  assert.deepEqual(v[0].opIds, [after.id]);
  assert.match(v[0].message, /\[1, 1\]/);
  // the right answers pass: 1, and a later quorum read of 1; nothing live reads as 0
  const ok2 = counterRecorder();
  for (let i = 0; i < 5; i++) ok2.ok(ok2.inc(1, 3), i + 1);
  const g2 = ok2.read(3);
  ok2.ok(g2, 5);
  ok2.ok(ok2.del(g2, 2));
  ok2.ok(ok2.read(2), undefined);
  ok2.ok(ok2.inc(1, 3), 1);
  ok2.ok(ok2.read(3), 1);
  assert.deepEqual(checkCounterBounds(ok2.h.ops, N), []);
  const late = ok2.read(3);
  ok2.ok(late, 6);
  assert.deepEqual(checkCounterBounds(ok2.h.ops, N).map((x) => x.opIds[0]), [late.id]);
});

test('counter bounds with deletes: increments the DEL\'s read may not have seen may survive; a failed DEL is a maybe, a refused one is not', () => {
  const { h, inc, read, del, ok } = counterRecorder();
  ok(inc(5, 2), 5);
  const concurrent = inc(3, 2); // invoked before the DEL's read completed: it may or may not be removed
  const g = read(2);
  ok(g, 5);
  ok(concurrent, 8);
  const d = del(g, 2);
  h.fail(d, new RingkvError('TIMEOUT', 'may have been applied'));
  const r1 = read(2);
  ok(r1, 8); // the DEL may not have been applied
  const r2 = read(2);
  ok(r2, 3); // or applied, and the concurrent +3 survived it
  const r3 = read(2);
  ok(r3, 0); // or applied and it saw the +3 after all
  assert.deepEqual(checkCounterBounds(h.ops, N), []);
  // the same DEL refused with a 4xx removed nothing: 5 and 3 must both still count
  const refused = counterRecorder();
  refused.ok(refused.inc(5, 2), 5);
  const g2 = refused.read(2);
  refused.ok(g2, 5);
  refused.h.fail(refused.del(g2, 2), new RingkvError('MALFORMED_CONTEXT', 'bad token'));
  const after = refused.read(2);
  refused.ok(after, undefined);
  assert.deepEqual(checkCounterBounds(refused.h.ops, N).map((x) => x.opIds[0]), [after.id]);
});

test('counter bounds: an INCR answer must include every increment acknowledged before it when W + W > N; concurrent equal answers are fine', () => {
  const { h, inc, ok } = counterRecorder();
  ok(inc(5, 2), 5);
  const stale = inc(1, 2);
  ok(stale, 1); // computed from a copy that missed the +5
  assert.deepEqual(checkCounterBounds(h.ops, N).map((x) => x.opIds[0]), [stale.id]);
  const weak = counterRecorder();
  weak.ok(weak.inc(5, 2), 5);
  weak.ok(weak.inc(1, 1), 1); // 1 + 2 does not exceed 3: need not see it
  assert.deepEqual(checkCounterBounds(weak.h.ops, N), []);
  const concurrent = counterRecorder();
  const a = concurrent.inc(1, 2);
  const b = concurrent.inc(1, 2);
  concurrent.ok(a, 1);
  concurrent.ok(b, 1);
  assert.deepEqual(checkCounterBounds(concurrent.h.ops, N), []);
  // counted twice: one INCR 1 answering 2 (issue 8 case 3)
  const twice = counterRecorder();
  const once = twice.inc(1, 2);
  twice.ok(once, 2);
  assert.deepEqual(checkCounterBounds(twice.h.ops, N).map((x) => x.opIds[0]), [once.id]);
});

test('convergence: identical replicas pass; different objects, or one replica missing the key, fail', () => {
  assert.deepEqual(checkConvergence([{ key: 'k', replicas: [{ node: 'n1', state: 'A' }, { node: 'n2', state: 'A' }, { node: 'n3', state: 'A' }] }]), []);
  assert.deepEqual(checkConvergence([{ key: 'k', replicas: [{ node: 'n1', state: undefined }, { node: 'n2', state: undefined }] }]), []);
  const v = checkConvergence([
    { key: 'k', replicas: [{ node: 'n1', state: 'A' }, { node: 'n2', state: 'B' }, { node: 'n3', state: 'A' }] },
    { key: 'j', replicas: [{ node: 'n1', state: 'A' }, { node: 'n2', state: undefined }] },
  ]);
  assert.equal(v.length, 2);
  assert.ok(v.every((x) => x.checker === 'convergence'));
  assert.match(v[1].message, /n2: \(nothing\)/);
});

test('data loss: a put started after the loss is checked again (a replica re-minting dots it had handed out is caught)', () => {
  const { h, put, get, ok, tick } = recorder();
  tick(200);
  const after = put('k', 'after-crash', 3);
  tick(5);
  ok(after);
  const g = get('k', 3);
  ok(g, ['older']);
  const v = checkAcknowledgedWritesVisible(h.ops, { n: 3, dataLoss: [{ node: 'n1', atMs: 100, lostSinceMs: -Infinity }] });
  assert.deepEqual(v.map((x) => x.opIds), [[after.id, g.id]]);
});

test('stored ClusterNode objects compare by vector counters, sibling dots and values, whatever the order of their fields', () => {
  const sibling = (counter: number, bytes: string) => ({ dot: { node: 'n1', counter }, hlc: { wallMs: 5, logical: 0 }, value: { kind: 'bytes' as const, bytes: Buffer.from(bytes) } });
  const a = describeVersionedObject({ vv: [{ node: 'n1', counter: 2 }], siblings: [sibling(2, 'x')] });
  const sameFieldsReordered = describeVersionedObject({ siblings: [sibling(2, 'x')], vv: [{ counter: 2, node: 'n1' }] });
  const otherValueSameDot = describeVersionedObject({ vv: [{ node: 'n1', counter: 2 }], siblings: [sibling(2, 'y')] });
  const otherCounter = describeVersionedObject({ vv: [{ node: 'n1', counter: 3 }], siblings: [sibling(2, 'x')] });
  assert.equal(a, sameFieldsReordered);
  assert.notEqual(a, otherValueSameDot, 'a reused dot holding another value is a divergence');
  assert.notEqual(a, otherCounter);
  assert.match(a, /hex:78/);
});
