import test from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAcknowledgedWritesVisible,
  checkCounterBounds,
  checkLiveness,
  checkReadsReturnWrittenValues,
  checkSupersededValuesStayGone,
} from '../../src/sim/checkers.js';
import { History, type OpRecord } from '../../src/sim/history.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

/** a small DSL: ops are invoked and completed in the order the test calls them */
function recorder() {
  const clock = new VirtualClock(0);
  const h = new History(clock);
  return {
    h,
    tick: (ms = 1) => clock.advanceTo(clock.nowMs() + ms),
    put: (key: string, value: string, w = 2, read?: OpRecord) =>
      h.invoke({ client: 'c', node: 'n1', kind: 'put', key, value, w, contextFromOp: read?.id, supersedes: read?.readValues ?? [] }),
    del: (key: string, read: OpRecord, w = 2) => h.invoke({ client: 'c', node: 'n1', kind: 'delete', key, w, contextFromOp: read.id, supersedes: read.readValues }),
    get: (key: string, r = 2) => h.invoke({ client: 'c', node: 'n2', kind: 'get', key, r }),
    ok: (op: OpRecord, readValues?: string[]) => h.complete(op, readValues ? { readValues, readContext: 'ctx' } : {}),
  };
}

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
  const okCount = (op: OpRecord, v: number) => h.complete(op, { counterValue: String(v), readValues: op.kind === 'get' ? [String(v)] : undefined });
  okCount(inc(5), 5);
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
  assert.match(v[0].message, /increment lost/);
  assert.match(v[1].message, /counted twice/);
  void ok;
  void pendingInc;
});
