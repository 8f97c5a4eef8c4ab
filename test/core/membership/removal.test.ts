import test from 'node:test';
import assert from 'node:assert/strict';
import { compareEntries } from '../../../src/core/membership/member-entry.js';
import { removalOfKnownLife } from '../../../src/core/membership/removal.js';
import { judgeRowAboutSelf } from '../../../src/core/membership/self-row.js';
import { row } from './rows.js';

const placeholderRemoval = row('n3', { incarnation: 0, heartbeat: 0, status: 'left' });

test('a removal of an earlier life reaching a node that knew a later one before: removed at the life known here', () => {
  for (const status of ['up', 'suspect', 'down', 'leaving'] as const) {
    const known = row('n3', { incarnation: 1, heartbeat: 2, status });
    const upgraded = removalOfKnownLife(known, placeholderRemoval, undefined);
    assert.deepEqual(upgraded, { ...known, status: 'left' });
    // it beats the later life and the removal it came from, so it wins wherever it travels
    assert.ok(compareEntries(upgraded!, known) > 0 && compareEntries(upgraded!, placeholderRemoval) > 0);
  }
  // a removal seen before, but of an even earlier life, does not make the later life a new one
  assert.ok(removalOfKnownLife(row('n3', { incarnation: 3 }), row('n3', { incarnation: 2, status: 'left' }), 1));
});

test('the upgraded removal also bars a restart on that life\'s data', () => {
  const upgraded = removalOfKnownLife(row('n3', { incarnation: 1, heartbeat: 2, status: 'down' }), placeholderRemoval, undefined)!;
  // the placeholder removal alone would not have: its incarnation is older than the record
  assert.equal(judgeRowAboutSelf(row('n3', { incarnation: 2 }), placeholderRemoval, 1).kind, 'ignore');
  assert.equal(judgeRowAboutSelf(row('n3', { incarnation: 2 }), upgraded, 1).kind, 'removed');
});

test('the ordinary merge applies otherwise', () => {
  const known = row('n3', { incarnation: 2, heartbeat: 5 });
  // not a removal, or one at the life known here or later (the merge itself applies it)
  assert.equal(removalOfKnownLife(known, row('n3', { incarnation: 1, status: 'down' }), undefined), undefined);
  assert.equal(removalOfKnownLife(known, row('n3', { incarnation: 2, status: 'left' }), undefined), undefined);
  assert.equal(removalOfKnownLife(known, row('n3', { incarnation: 3, status: 'left' }), undefined), undefined);
  // nothing known here, or already removed
  assert.equal(removalOfKnownLife(undefined, placeholderRemoval, undefined), undefined);
  assert.equal(removalOfKnownLife(row('n3', { incarnation: 2, status: 'left' }), placeholderRemoval, undefined), undefined);
  // this node held that removal before it heard of the later life: the life may have started after it (a fresh directory reusing the id)
  assert.equal(removalOfKnownLife(known, row('n3', { incarnation: 1, status: 'left' }), 1), undefined);
  assert.equal(removalOfKnownLife(known, row('n3', { incarnation: 1, status: 'left' }), 2), undefined);
});
