import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RingkvError } from '../../../src/core/errors.js';
import { MAX_DIGEST_ROWS, parseDigest } from '../../../src/core/membership/digest.js';
import { MemberTable, mergeTables } from '../../../src/core/membership/member-table.js';
import type { MemberEntry } from '../../../src/core/membership/member-entry.js';
import { arbitraryRow, row } from './rows.js';

const ids = ['a', 'b', 'c', 'd', 'e'];
const arbitraryRows = fc.array(fc.constantFrom(...ids).chain(arbitraryRow), { maxLength: 25 });

/** The scuttlebutt exchange between two tables: A's digest, B's delta and requests, A's answer. */
function exchange(a: MemberTable, b: MemberTable): { travelled: MemberEntry[] } {
  const delta = b.deltaFor(a.digest());
  for (const e of delta.entries) a.merge(e);
  const answer = a.rowsFor(delta.requests);
  for (const e of answer) b.merge(e);
  return { travelled: [...delta.entries, ...answer] };
}

test('a table holds the merge of what it saw, whatever the order (property)', () => {
  fc.assert(
    fc.property(arbitraryRows, (rows) => {
      const forward = new MemberTable(rows).entries();
      assert.deepEqual(new MemberTable([...rows].reverse()).entries(), forward);
      assert.deepEqual(new MemberTable([...rows, ...rows]).entries(), forward, 'idempotent');
      assert.deepEqual(mergeTables(rows.slice(0, 7), rows.slice(7)), forward);
    }),
    { numRuns: 300, seed: 23 },
  );
});

test('one push-pull exchange leaves both tables equal to their merge (property)', () => {
  fc.assert(
    fc.property(arbitraryRows, arbitraryRows, (rowsA, rowsB) => {
      const a = new MemberTable(rowsA);
      const b = new MemberTable(rowsB);
      const merged = mergeTables(rowsA, rowsB);
      exchange(a, b);
      assert.deepEqual(a.entries(), merged);
      assert.deepEqual(b.entries(), merged);
      // a second exchange has nothing left to send
      assert.equal(exchange(a, b).travelled.length, 0);
    }),
    { numRuns: 300, seed: 29 },
  );
});

test('only rows newer than the peer has travel; equal rows stay home', () => {
  const shared = [row('a', { heartbeat: 5 }), row('b', { heartbeat: 7 })];
  const a = new MemberTable([...shared, row('c', { heartbeat: 2 })]);
  const b = new MemberTable([...shared, row('c', { heartbeat: 9 }), row('d')]);
  const delta = b.deltaFor(a.digest());
  assert.deepEqual(delta.entries.map((e) => e.id), ['c', 'd']);
  assert.deepEqual(delta.requests, []);
  const reverse = a.deltaFor(b.digest());
  assert.deepEqual(reverse.entries, []);
  assert.deepEqual(reverse.requests.sort(), ['c', 'd']);
  // a suspicion at the same heartbeat is newer: it travels
  const suspected = new MemberTable([row('a', { heartbeat: 5, status: 'suspect' })]);
  assert.deepEqual(suspected.deltaFor(a.digest()).entries.map((e) => e.status), ['suspect']);
  // one version, two contents (a duplicate id): both travel, both sides keep the greater
  const x = new MemberTable([row('a', { heartbeat: 5, address: 'x:1' })]);
  const y = new MemberTable([row('a', { heartbeat: 5, address: 'y:1' })]);
  const swap = y.deltaFor(x.digest());
  assert.deepEqual([swap.entries.length, swap.requests], [1, ['a']]);
  exchange(x, y);
  assert.equal(x.get('a')?.address, 'y:1');
  assert.equal(y.get('a')?.address, 'y:1');
});

test('merge reports what changed; replace overrides the order for the own row', () => {
  const t = new MemberTable();
  const first = t.merge(row('a', { heartbeat: 3 }));
  assert.deepEqual(first, { changed: true, previous: undefined });
  assert.deepEqual(t.merge(row('a', { heartbeat: 2 })), { changed: false });
  assert.deepEqual(t.merge(row('a', { heartbeat: 3 })), { changed: false });
  const next = t.merge(row('a', { heartbeat: 4 }));
  assert.ok(next.changed && next.previous?.heartbeat === 3);
  t.replace(row('a', { heartbeat: 1 }));
  assert.equal(t.get('a')?.heartbeat, 1);
  assert.equal(t.size, 1);
  assert.deepEqual(t.rowsFor(['a', 'zz', 'a']).map((e) => e.id), ['a']);
});

test('parseDigest accepts well-formed digests and refuses everything else', () => {
  const good = new MemberTable([row('a'), row('b', { status: 'left' })]).digest();
  assert.deepEqual(parseDigest(JSON.parse(JSON.stringify(good))), good);
  const isMalformed = (e: unknown): boolean => e instanceof RingkvError && e.code === 'MALFORMED_REQUEST';
  const bad: unknown[] = [
    null,
    {},
    'abc',
    ['a', 1, 1, 0],
    ['a', 1, 1, 0, 9, 9],
    ['', 1, 1, 0, 0],
    ['a', -1, 1, 0, 0],
    ['a', 1, 1.5, 0, 0],
    ['a', 1, 1, 5, 0],
    ['a', 1, 1, -1, 0],
    ['a', 1, 1, 0, -1],
    ['a', 1, 1, 0, 2 ** 32],
    ['a', 1, 1, 0, 0, 'a', 2, 1, 0, 0],
    [['a', 1, 1, 0, 0]],
    Array.from({ length: MAX_DIGEST_ROWS + 1 }, (_, i) => [`n${i}`, 1, 1, 0, 0]).flat(),
  ];
  for (const raw of bad) assert.throws(() => parseDigest(raw), isMalformed, JSON.stringify(raw)?.slice(0, 80));
});
