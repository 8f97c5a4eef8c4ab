import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RingkvError } from '../../../src/core/errors.js';
import { electClaimant, plannedMembers, ringReadiness } from '../../../src/core/membership/claimant.js';
import { MemberTable } from '../../../src/core/membership/member-table.js';
import {
  NO_RING_VERSION,
  compareRingVersions,
  encodeRingEpoch,
  parseRingEpoch,
  parseRingVersion,
  resolveRings,
  ringVersion,
  type RingEpoch,
} from '../../../src/core/membership/ring-epoch.js';
import { WatchRing } from '../../../src/core/membership/watch-ring.js';
import { buildRing, reclaimRing } from '../../../src/core/ring.js';
import { row } from './rows.js';

const members = (ids: string[]) => ids.map((id) => ({ id, address: `${id}:1`, weight: 1 }));
const ring1 = (ids: string[]): RingEpoch => ({ epoch: 1, claimant: '', ring: buildRing(members(ids), 64) });
const installed = (state: RingEpoch) => ({ ringEpoch: state.epoch, ringFingerprint: state.ring.fingerprint });

test('the claimant is the lowest ring member not down or left', () => {
  const state = ring1(['n1', 'n2', 'n3']);
  const t = new MemberTable(['n1', 'n2', 'n3'].map((id) => row(id)));
  assert.equal(electClaimant(state.ring, t), 'n1');
  t.merge(row('n1', { status: 'suspect' }));
  assert.equal(electClaimant(state.ring, t), 'n1', 'a suspect is still eligible');
  t.merge(row('n1', { status: 'down' }));
  assert.equal(electClaimant(state.ring, t), 'n2');
  t.merge(row('n2', { status: 'left' }));
  assert.equal(electClaimant(state.ring, t), 'n3');
  t.merge(row('n1', { incarnation: 2 }));
  assert.equal(electClaimant(state.ring, t), 'n1', 'a restarted lower id takes back');
  // a node not on the ring (joining) never claims, however low its id
  t.merge(row('a0'));
  assert.equal(electClaimant(state.ring, t), 'n1');
  assert.equal(electClaimant(undefined, t), undefined);
  t.merge(row('n1', { incarnation: 2, status: 'down' }));
  t.merge(row('n3', { status: 'down' }));
  assert.equal(electClaimant(state.ring, t), undefined);
});

test('ring readiness: every member reachable and on the current ring; removed members do not block', () => {
  const state = ring1(['n1', 'n2', 'n3']);
  const t = new MemberTable(['n1', 'n2', 'n3'].map((id) => row(id, installed(state))));
  assert.deepEqual(ringReadiness(state, t), { ready: true, waitingFor: [] });
  t.merge(row('n2', { heartbeat: 2, ringEpoch: 0, ringFingerprint: '' }));
  assert.deepEqual(ringReadiness(state, t).waitingFor, ['n2'], 'n2 has not installed the ring');
  t.merge(row('n2', { heartbeat: 3, ...installed(state), status: 'suspect' }));
  assert.deepEqual(ringReadiness(state, t).waitingFor, ['n2'], 'an unreachable member blocks');
  t.merge(row('n2', { heartbeat: 3, ...installed(state), status: 'left' }));
  assert.equal(ringReadiness(state, t).ready, true, 'an operator removed it');
  t.merge(row('n3', { heartbeat: 2, ...installed(state), status: 'leaving' }));
  assert.equal(ringReadiness(state, t).ready, true, 'a leaving member still counts as reachable');
  const other = { ...state, ring: buildRing(members(['n1', 'n2', 'n4']), 64) };
  assert.equal(ringReadiness(other, t).ready, false, 'same epoch, another fingerprint');
  assert.ok(ringReadiness(other, t).waitingFor.includes('n4'), 'a member without a row blocks');
});

test('planned members: the ring minus the removed plus up nodes heard from; undefined when nothing changes', () => {
  const state = ring1(['n1', 'n2', 'n3']);
  const t = new MemberTable(['n1', 'n2', 'n3'].map((id) => row(id)));
  assert.equal(plannedMembers(state.ring, t), undefined);
  t.merge(row('n4', { zone: 'z9', weight: 2 }));
  t.merge(row('n5', { status: 'suspect' }));
  t.merge(row('n6', { incarnation: 0 })); // a configuration placeholder, never heard from
  assert.deepEqual(plannedMembers(state.ring, t), [
    { id: 'n1', weight: 1 },
    { id: 'n2', weight: 1 },
    { id: 'n3', weight: 1 },
    { id: 'n4', zone: 'z9', weight: 2 },
  ]);
  t.merge(row('n2', { status: 'left' }));
  t.merge(row('n3', { status: 'down' }));
  assert.deepEqual(plannedMembers(state.ring, t)?.map((m) => m.id), ['n1', 'n3', 'n4'], 'down keeps its partitions; left goes');
  const weightOnly = new MemberTable(['n1', 'n2', 'n3'].map((id) => row(id, { weight: id === 'n2' ? 3 : 1 })));
  assert.deepEqual(plannedMembers(state.ring, weightOnly)?.find((m) => m.id === 'n2'), { id: 'n2', weight: 3 });
});

test('ring versions: a newer epoch wins; equal epochs resolve the same way everywhere (property)', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  const arbitraryState = fc
    .record({
      epoch: fc.integer({ min: 1, max: 3 }),
      claimant: fc.constantFrom('', 'a', 'b'),
      members: fc.subarray(ids, { minLength: 1 }),
    })
    .map(({ epoch, claimant, members: m }): RingEpoch => ({ epoch, claimant, ring: buildRing(members(m), 16) }));
  fc.assert(
    fc.property(arbitraryState, arbitraryState, arbitraryState, (a, b, c) => {
      assert.deepEqual(ringVersion(resolveRings(a, b)), ringVersion(resolveRings(b, a)));
      assert.deepEqual(ringVersion(resolveRings(resolveRings(a, b), c)), ringVersion(resolveRings(a, resolveRings(b, c))));
      if (a.epoch !== b.epoch) assert.equal(resolveRings(a, b).epoch, Math.max(a.epoch, b.epoch));
      const ab = compareRingVersions(ringVersion(a), ringVersion(b));
      assert.equal(Math.sign(ab), -Math.sign(compareRingVersions(ringVersion(b), ringVersion(a))));
      assert.ok(compareRingVersions(ringVersion(a), NO_RING_VERSION) > 0);
    }),
    { numRuns: 200, seed: 41 },
  );
  // at one epoch: the lower claimant, then more members, then the lower fingerprint
  const x = { epoch: 5, claimant: 'a', ring: buildRing(members(['a', 'b']), 16) };
  const y = { epoch: 5, claimant: 'b', ring: buildRing(members(['a', 'b', 'c']), 16) };
  assert.equal(resolveRings(x, y), x);
  assert.equal(resolveRings({ ...y, claimant: 'a' }, x).ring.members.length, 3);
});

test('ring states round-trip through their wire form; malformed ones are refused', () => {
  const first = ring1(['n1', 'n2', 'n3']);
  const next: RingEpoch = { epoch: 2, claimant: 'n1', ring: reclaimRing(first.ring, [...members(['n1', 'n2', 'n3']), { id: 'n4', address: 'x', weight: 2, zone: 'z' }]) };
  const back = parseRingEpoch(JSON.parse(JSON.stringify(encodeRingEpoch(next))));
  assert.equal(back.epoch, 2);
  assert.equal(back.claimant, 'n1');
  assert.deepEqual(back.ring.toJSON(), next.ring.toJSON());
  assert.equal(back.ring.fingerprint, next.ring.fingerprint);
  const wire = encodeRingEpoch(next);
  const isMalformed = (e: unknown): boolean => e instanceof RingkvError && e.code === 'MALFORMED_REQUEST';
  const bad: unknown[] = [
    null,
    { ...wire, epoch: 0 },
    { ...wire, claimant: 7 },
    { ...wire, partitions: 63 },
    { ...wire, members: [] },
    { ...wire, members: [...wire.members].reverse() },
    { ...wire, members: [wire.members[0], wire.members[0]] },
    { ...wire, members: wire.members.map((m) => ({ ...m, weight: -1 })) },
    { ...wire, owners: wire.owners.slice(1) },
    { ...wire, owners: wire.owners.map(() => 99) },
    { ...wire, owners: wire.owners.map(() => 'n1') },
  ];
  for (const raw of bad) assert.throws(() => parseRingEpoch(raw), isMalformed, JSON.stringify(raw)?.slice(0, 100));
  assert.deepEqual(parseRingVersion(ringVersion(next)), ringVersion(next));
  for (const raw of [null, { epoch: -1, claimant: '', members: 0, fingerprint: '' }, { epoch: 1, claimant: '', members: 0, fingerprint: 3 }]) {
    assert.throws(() => parseRingVersion(raw), isMalformed);
  }
});

test('the watch ring: k watchers per node, and A watches X exactly when X sends heartbeats to A (property)', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,4}$/), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 5 }), (ids, k) => {
      const ring = new WatchRing(ids);
      for (const x of ids) {
        const watchers = ring.watchersOf(x, k);
        assert.equal(watchers.length, Math.min(k, ids.length - 1));
        assert.equal(new Set(watchers).size, watchers.length);
        assert.ok(!watchers.includes(x));
        for (const a of ids) assert.equal(watchers.includes(a), ring.watchedBy(a, k).includes(x));
      }
      assert.deepEqual(ring.watchersOf('not-a-member', k), []);
    }),
    { numRuns: 200, seed: 3 },
  );
});
