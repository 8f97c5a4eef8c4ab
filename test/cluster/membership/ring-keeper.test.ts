import test from 'node:test';
import assert from 'node:assert/strict';
import { RingkvError } from '../../../src/core/errors.js';
import { MemberTable } from '../../../src/core/membership/member-table.js';
import { buildRing } from '../../../src/core/ring.js';
import { epochFingerprint } from '../../../src/core/membership/ring-epoch.js';
import { transferReceivers } from '../../../src/core/membership/claimant.js';
import { RingKeeper } from '../../../src/cluster/membership/ring-keeper.js';
import { StallGuard } from '../../../src/cluster/membership/stall-guard.js';
import { row } from '../../core/membership/rows.js';

const members = (ids: string[]) => ids.map((id) => ({ id, address: `${id}:1`, weight: 1 }));

test('the ring keeper: bootstrap once, newer rings only, a bounded history, Q checked', () => {
  const keeper = new RingKeeper(64, 2, []);
  assert.equal(keeper.version().epoch, 0);
  assert.equal(keeper.bootstrap(members(['n1', 'n2', 'n3'])), true);
  assert.equal(keeper.bootstrap(members(['n1'])), false, 'a held ring is not replaced by a bootstrap');
  const first = keeper.current!;
  assert.equal(first.epoch, 1);
  assert.equal(keeper.judge(first), 'not-newer');
  assert.equal(keeper.judge({ epoch: 2, claimant: 'n1', ring: buildRing(members(['n1', 'n2']), 128) }), 'wrong-partitions');
  const second = { epoch: 2, claimant: 'n1', ring: buildRing(members(['n1', 'n2']), 64) };
  assert.equal(keeper.judge(second), 'newer');
  assert.equal(keeper.install(second), first);
  keeper.install({ ...second, epoch: 3 });
  assert.deepEqual(keeper.history.map((r) => r.epoch), [2, 3], 'history keeps the last 2');
  assert.throws(() => new RingKeeper(128, 2, keeper.history), (e: unknown) => e instanceof RingkvError && e.code === 'BAD_PARAMETER');
  assert.throws(() => new RingKeeper(64, 2, []).bootstrap(members(['n1', 'n2']), buildRing(members(['n1']), 64)), /firstRing/);
});

test('the claimant commits the planned ring only when it is the claimant and the ring is ready', () => {
  const keeper = new RingKeeper(64, 16, []);
  keeper.bootstrap(members(['n1', 'n2', 'n3']));
  const ring = keeper.current!;
  const acked = { ringEpoch: 1, ringFingerprint: ring.ring.fingerprint };
  const table = new MemberTable(['n1', 'n2', 'n3'].map((id) => row(id, acked)));
  assert.equal(keeper.nextCommit('n1', table, 3), undefined, 'nothing to change');
  table.merge(row('n4'));
  assert.equal(keeper.nextCommit('n2', table, 3), undefined, 'n2 is not the claimant');
  const next = keeper.nextCommit('n1', table, 3);
  assert.ok(next !== undefined && next.epoch === 2 && next.claimant === 'n1' && !next.ring.hasMember('n4') && next.pending?.hasMember('n4'), 'first a pending ring beside the current one');
  table.merge(row('n3', { ...acked, status: 'suspect' }));
  assert.equal(keeper.nextCommit('n1', table, 3), undefined, 'n3 unreachable: not ready');
  table.merge(row('n3', { ...acked, heartbeat: 2 }));
  keeper.install(next);
  const ack2 = { ringEpoch: 2, ringFingerprint: epochFingerprint(next) };
  for (const id of ['n1', 'n2', 'n3', 'n4']) table.merge(row(id, { ...ack2, heartbeat: 3 }));
  assert.equal(keeper.nextCommit('n1', table, 3), undefined, 'receivers have not reported their transfers');
  for (const id of transferReceivers(next, 3)) table.merge(row(id, { ...ack2, heartbeat: 4, transfersDone: 2 }));
  const flip = keeper.nextCommit('n1', table, 3);
  assert.ok(flip !== undefined && flip.epoch === 3 && flip.ring === next.pending && flip.pending === undefined, 'then the pending ring becomes the ring');
});

test('the stall guard reports a gap past its threshold once, less the expected gap', () => {
  const guard = new StallGuard(500, 100, 1000);
  assert.equal(guard.ran(1100), 0);
  assert.equal(guard.ran(1550), 0);
  assert.equal(guard.ran(3650), 2_000);
  assert.equal(guard.ran(3650), 0, 'the timers that come due with it do not report it again');
  assert.equal(guard.ran(3700), 0);
});
