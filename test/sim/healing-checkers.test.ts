import test from 'node:test';
import assert from 'node:assert/strict';
import { checkAcknowledgedWritesVisible, checkConvergence, checkCounterBounds, checkDeletesStayDeleted, type CheckOptions } from '../../src/sim/checkers.js';
import { checkHintsDrained, checkNoResurrection, checkOwnership, checkRingAgreement, checkTombstonesReaped, checkTransfersComplete } from '../../src/sim/state-checkers.js';
import { recorder } from './history-dsl.js';

/**
 * The checkers of the membership and self-healing families on hand-made inputs: each must fail on
 * what it forbids and pass on what the contract allows (a simulator whose checkers never fire proves
 * nothing).
 */
const SLOPPY: CheckOptions = { n: 3, sloppy: true };

test('with sloppy quorums, a sloppy write counts with its coordinator only; a strict one with its pw', () => {
  const { h, put, get, ok } = recorder();
  const sloppy = put('k', 'a', 2);
  ok(sloppy);
  const strict = put('k', 'b', 2, undefined, 2);
  ok(strict);
  const g2 = get('k', 2);
  ok(g2, []);
  // without the sloppy rule both would be checked against the r=2 read
  assert.equal(checkAcknowledgedWritesVisible(h.ops, { n: 3 }).length, 2);
  // with it, only the strict one (2 + 2 > 3); the sloppy one needs a read of every primary
  const v = checkAcknowledgedWritesVisible(h.ops, SLOPPY);
  assert.deepEqual(v.map((x) => x.opIds[0]), [strict.id]);
  const g3 = get('k', 3);
  ok(g3, []);
  assert.deepEqual(
    checkAcknowledgedWritesVisible(h.ops, SLOPPY).map((x) => x.opIds),
    [[sloppy.id, g3.id], [strict.id, g2.id], [strict.id, g3.id]],
  );
});

test('with sloppy quorums, an INCR answer observes its coordinator only: counter bounds widen, never tighten', () => {
  const { h, incr, ok } = recorder();
  const a = incr('c', 5, 3);
  ok(a, undefined, '5');
  const b = incr('c', 1, 2);
  ok(b, undefined, '1'); // missed a: impossible with W + W > N strictly, allowed when both were sloppy
  assert.equal(checkCounterBounds(h.ops, { n: 3 }).length, 1);
  assert.deepEqual(checkCounterBounds(h.ops, SLOPPY), []);
});

test('data loss counted per replica: a write on two primaries survives one lost replica, not two', () => {
  const { h, put, get, ok, tick } = recorder();
  const p = put('k', 'a', 3);
  ok(p);
  tick(10);
  const g = get('k', 2);
  ok(g, []);
  const oneLoss = { n: 3, dataLoss: [{ node: 'n3', atMs: 5, lostSinceMs: -Infinity }], replicasOf: () => ['n1', 'n2', 'n3'] };
  assert.deepEqual(checkAcknowledgedWritesVisible(h.ops, oneLoss), [], 'any loss takes the write out by default');
  assert.equal(checkAcknowledgedWritesVisible(h.ops, { ...oneLoss, lossPerReplica: true }).length, 1, 'w=3 less one lost replica still meets r=2');
  const twoLosses = { ...oneLoss, lossPerReplica: true, dataLoss: [...oneLoss.dataLoss, { node: 'n2', atMs: 6, lostSinceMs: -Infinity }] };
  assert.deepEqual(checkAcknowledgedWritesVisible(h.ops, twoLosses), [], 'one surviving copy need not meet r=2');
});

test('convergence without reads names itself and the wait', () => {
  const snaps = [{ key: 'k', replicas: [{ node: 'n1', state: 'a' }, { node: 'n2', state: undefined }] }];
  const [v] = checkConvergence(snaps, { afterFullRead: false, waitedMs: 1234 });
  assert.equal(v.checker, 'convergence-without-reads');
  assert.match(v.message, /1234 ms after/);
  assert.equal(checkConvergence(snaps)[0].checker, 'convergence');
  assert.deepEqual(checkConvergence([{ key: 'k', replicas: [{ node: 'n1', state: 'a' }, { node: 'n2', state: 'a' }] }], { afterFullRead: false }), []);
});

test('ring agreement: one ring, nothing pending, exactly the expected members', () => {
  const ring = (node: string, text = 'r5', pending = false, members = ['n1', 'n2', 'n4']) => ({ node, text, epoch: 5, pending, members });
  assert.deepEqual(checkRingAgreement([ring('n1'), ring('n2'), ring('n4')], ['n4', 'n1', 'n2'], 100), []);
  assert.match(checkRingAgreement([ring('n1'), ring('n2', 'r6')], ['n1', 'n2', 'n4'], 100)[0].message, /different rings/);
  assert.match(checkRingAgreement([ring('n1', 'r5', true)], ['n1', 'n2', 'n4'], 100)[0].message, /still pending/);
  assert.match(checkRingAgreement([ring('n1')], ['n1', 'n2', 'n3', 'n4'], 100)[0].message, /not the cluster's/);
});

test('ownership: a partition stored but not replicated is a violation; hints and replicated ones are not', () => {
  assert.deepEqual(checkOwnership([{ node: 'n1', stored: [0, 2], replicates: new Set([0, 1, 2]) }]), []);
  const [v] = checkOwnership([{ node: 'n5', stored: [3], replicates: new Set() }]);
  assert.equal(v.checker, 'ownership');
  assert.match(v.message, /n5 still stores partition\(s\) 3.*replicates none/);
});

test('hints drained: any hint still held is reported with its holder and target', () => {
  assert.deepEqual(checkHintsDrained([], 10), []);
  assert.match(checkHintsDrained([{ node: 'n2', target: 'n3', count: 4 }], 10)[0].message, /n2 holds 4 for n3/);
});

test('no resurrection in storage: a value a durably acknowledged delete covered must not be stored live anywhere', () => {
  const { h, put, del, get, ok } = recorder();
  const p = put('k', 'old', 2, undefined, 2);
  ok(p);
  const r = get('k');
  ok(r, ['old']);
  const d = del('k', r);
  ok(d);
  const fresh = put('k', 'new', 2, undefined, 2);
  ok(fresh);
  const stored = (values: string[]) => [{ key: 'k', replicas: [{ node: 'n1', values: ['new'] }, { node: 'n2', values }] }];
  assert.deepEqual(checkNoResurrection(h.ops, stored(['new']), { n: 3 }), []);
  const [v] = checkNoResurrection(h.ops, stored(['new', 'old']), { n: 3 });
  assert.equal(v.checker, 'no-resurrection');
  assert.deepEqual(v.opIds, [d.id]);
  // a delete that failed is no proof: it may not have been applied anywhere
  const { h: h2, put: put2, del: del2, get: get2, ok: ok2 } = recorder();
  ok2(put2('k', 'old', 2, undefined, 2));
  const r2 = get2('k');
  ok2(r2, ['old']);
  h2.fail(del2('k', r2), new Error('timeout'));
  assert.deepEqual(checkNoResurrection(h2.ops, stored(['old']), { n: 3 }), []);
  // and a read-based checker sees the same history the same way
  assert.deepEqual(checkDeletesStayDeleted(h.ops, { n: 3 }), []);
});

test('tombstones reaped: each ripe tombstone left after the pass is listed', () => {
  assert.deepEqual(checkTombstonesReaped([]), []);
  assert.match(checkTombstonesReaped([{ node: 'n1', key: 't0', deletedAgoMs: 4200 }])[0].message, /n1: "t0" \(deleted 4200 ms ago\)/);
});

test('transfers complete: a new replica missing a put acknowledged before the change began is a violation', () => {
  const { h, put, ok, tick } = recorder();
  const before = put('k', 'a', 2, undefined, 2);
  ok(before);
  tick(100); // the change begins at 100
  const during = put('k', 'b', 2, undefined, 2);
  tick(50);
  ok(during);
  const snap = (values: string[]) => [{ epoch: 4, pendingSinceMs: 100, committedAtMs: 500, node: 'n5', key: 'k', values }];
  assert.deepEqual(checkTransfersComplete(h.ops, snap(['a']), { n: 3 }), [], 'a write during the change need not be there yet');
  const [v] = checkTransfersComplete(h.ops, snap([]), { n: 3 });
  assert.equal(v.checker, 'transfers-complete');
  assert.deepEqual(v.opIds, [before.id]);
  // a write superseding the value before the commit excuses its absence
  const { h: h2, put: put2, get: get2, ok: ok2, tick: tick2 } = recorder();
  ok2(put2('k', 'a', 2, undefined, 2));
  tick2(200);
  const seen = get2('k');
  ok2(seen, ['a']);
  ok2(put2('k', 'c', 2, seen, 2));
  assert.deepEqual(checkTransfersComplete(h2.ops, snap(['c']), { n: 3 }), []);
});
