import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RingkvError } from '../../../src/core/errors.js';
import {
  STATUS_BY_RANK,
  compareEntries,
  mergeEntries,
  parseMemberEntry,
  type MemberEntry,
} from '../../../src/core/membership/member-entry.js';
import { arbitraryRow, row } from './rows.js';

const rowsOfOneMember = fc.array(arbitraryRow('n1'), { minLength: 1, maxLength: 8 });

test('merge is commutative, associative and idempotent (property)', () => {
  fc.assert(
    fc.property(arbitraryRow('n1'), arbitraryRow('n1'), arbitraryRow('n1'), (a, b, c) => {
      assert.deepEqual(mergeEntries(a, b), mergeEntries(b, a));
      assert.deepEqual(mergeEntries(mergeEntries(a, b), c), mergeEntries(a, mergeEntries(b, c)));
      assert.deepEqual(mergeEntries(a, a), a);
      assert.deepEqual(mergeEntries(a, mergeEntries(a, b)), mergeEntries(a, b));
    }),
    { numRuns: 500, seed: 91 },
  );
});

test('the row order is total: compare is antisymmetric and 0 only for equal rows (property)', () => {
  fc.assert(
    fc.property(arbitraryRow('n1'), arbitraryRow('n1'), (a, b) => {
      const ab = compareEntries(a, b);
      assert.equal(Math.sign(ab), -Math.sign(compareEntries(b, a)));
      if (ab === 0) assert.deepEqual(a, b);
    }),
    { numRuns: 1000, seed: 5 },
  );
});

test('merging any rows in any order gives one result (property)', () => {
  fc.assert(
    fc.property(rowsOfOneMember, fc.integer({ min: 0, max: 1_000_000 }), (rows, salt) => {
      const forward = rows.reduce(mergeEntries);
      const shuffled = [...rows].sort((x, y) => ((x.heartbeat * 31 + salt) % 7) - ((y.heartbeat * 31 + salt) % 7));
      assert.deepEqual(shuffled.reduce(mergeEntries), forward);
      assert.deepEqual([...rows].reverse().reduce(mergeEntries), forward);
    }),
    { numRuns: 300, seed: 17 },
  );
});

test('the precedence rules: restart, removal, heartbeat, then status', () => {
  const down = row('n1', { incarnation: 3, heartbeat: 40, status: 'down' });
  // a restarted node's rows beat everything said about its previous life
  assert.equal(mergeEntries(down, row('n1', { incarnation: 4, heartbeat: 1 })).incarnation, 4);
  // a newer heartbeat refutes a suspicion or a down mark about an older one (a paused node comes back)
  assert.equal(mergeEntries(down, row('n1', { incarnation: 3, heartbeat: 41 })).status, 'up');
  assert.equal(mergeEntries(row('n1', { incarnation: 3, heartbeat: 40, status: 'suspect' }), row('n1', { incarnation: 3, heartbeat: 41 })).status, 'up');
  // at the same heartbeat the stronger statement wins: up < leaving < suspect < down < left
  for (let i = 1; i < STATUS_BY_RANK.length; i++) {
    const weaker = row('n1', { incarnation: 3, heartbeat: 40, status: STATUS_BY_RANK[i - 1] });
    const stronger = row('n1', { incarnation: 3, heartbeat: 40, status: STATUS_BY_RANK[i] });
    assert.equal(mergeEntries(weaker, stronger).status, STATUS_BY_RANK[i]);
  }
  // a removal cannot be heartbeaten away, only outlived by a new incarnation
  const removed = row('n1', { incarnation: 3, heartbeat: 40, status: 'left' });
  assert.equal(mergeEntries(removed, row('n1', { incarnation: 3, heartbeat: 9000 })).status, 'left');
  assert.equal(mergeEntries(removed, row('n1', { incarnation: 4, heartbeat: 1 })).status, 'up');
  assert.throws(() => mergeEntries(row('n1'), row('n2')), (e: unknown) => e instanceof RingkvError && e.code === 'INTERNAL');
});

test('parseMemberEntry accepts a row and returns a clean copy', () => {
  const good: MemberEntry = row('n7', { zone: 'z1', httpAddress: 'h:1', incarnation: 2, heartbeat: 5, status: 'suspect', ringEpoch: 3, ringFingerprint: 'ab' });
  assert.deepEqual(parseMemberEntry({ ...good, extra: 'ignored' }), good);
  assert.deepEqual(parseMemberEntry({ ...good, zone: null, httpAddress: null }), row('n7', { incarnation: 2, heartbeat: 5, status: 'suspect', ringEpoch: 3, ringFingerprint: 'ab' }));
});

test('parseMemberEntry refuses malformed rows with MALFORMED_REQUEST', () => {
  const good = row('n7');
  const bad: unknown[] = [
    null,
    'n7',
    [],
    { ...good, id: '' },
    { ...good, id: 'x'.repeat(65) },
    { ...good, id: 7 },
    { ...good, address: '' },
    { ...good, address: 'a'.repeat(256) },
    { ...good, status: 'dead' },
    { ...good, weight: 0 },
    { ...good, weight: -1 },
    { ...good, weight: Number.NaN },
    { ...good, weight: 1e7 },
    { ...good, incarnation: -1 },
    { ...good, incarnation: 1.5 },
    { ...good, heartbeat: 2 ** 60 },
    { ...good, heartbeat: '3' },
    { ...good, ringEpoch: undefined },
    { ...good, zone: 5 },
    { ...good, ringFingerprint: 'f'.repeat(81) },
  ];
  for (const raw of bad) {
    assert.throws(() => parseMemberEntry(raw), (e: unknown) => e instanceof RingkvError && e.code === 'MALFORMED_REQUEST', JSON.stringify(raw));
  }
});
