import test from 'node:test';
import assert from 'node:assert/strict';
import { judgeRowAboutSelf } from '../../../src/core/membership/self-row.js';
import { row } from './rows.js';

const mine = row('n1', { incarnation: 4, heartbeat: 20 });

test('a suspicion or down mark at a heartbeat the node reached is refuted with a newer one', () => {
  for (const status of ['suspect', 'down'] as const) {
    const v = judgeRowAboutSelf(mine, row('n1', { incarnation: 4, heartbeat: 20, status }), 4);
    assert.equal(v.kind, 'refute');
    assert.ok(v.kind === 'refute' && v.row.heartbeat === 21 && v.row.status === 'up');
  }
  const ahead = judgeRowAboutSelf(mine, row('n1', { incarnation: 4, heartbeat: 90, status: 'suspect' }), 4);
  assert.ok(ahead.kind === 'refute' && ahead.row.heartbeat === 91);
  // older news needs nothing: the node's own row already beats it everywhere
  assert.equal(judgeRowAboutSelf(mine, row('n1', { incarnation: 4, heartbeat: 19, status: 'down' }), 4).kind, 'ignore');
  assert.equal(judgeRowAboutSelf(mine, row('n1', { incarnation: 3, heartbeat: 99, status: 'down' }), 4).kind, 'ignore');
  assert.equal(judgeRowAboutSelf(mine, mine, 4).kind, 'ignore');
});

test('a later incarnation known elsewhere: the node takes one above it', () => {
  const v = judgeRowAboutSelf(mine, row('n1', { incarnation: 9, heartbeat: 2 }), undefined);
  assert.ok(v.kind === 'new-incarnation' && v.row.incarnation === 10 && v.row.heartbeat === 1);
});

test('another address at this incarnation or later is a conflict, never refuted', () => {
  assert.equal(judgeRowAboutSelf(mine, row('n1', { incarnation: 4, heartbeat: 500, address: 'other:1' }), 4).kind, 'conflict');
  assert.equal(judgeRowAboutSelf(mine, row('n1', { incarnation: 7, address: 'other:1' }), 4).kind, 'conflict');
  // an old row from before the node moved is just old
  assert.equal(judgeRowAboutSelf(mine, row('n1', { incarnation: 2, address: 'old:1', status: 'down' }), 4).kind, 'ignore');
});

test('removal: now, or of the life the node restarted from; a fresh data directory may reuse the id', () => {
  const now = judgeRowAboutSelf(mine, row('n1', { incarnation: 4, heartbeat: 3, status: 'left' }), 3);
  assert.ok(now.kind === 'removed' && now.row.status === 'left' && now.row.heartbeat === 21);
  // removed at incarnation 3 while away; this start's record was from incarnation 3: stale data
  assert.equal(judgeRowAboutSelf(mine, row('n1', { incarnation: 3, status: 'left' }), 3).kind, 'removed');
  // the record is from after the removal (the node was re-added since): not this life's business
  assert.equal(judgeRowAboutSelf(mine, row('n1', { incarnation: 2, status: 'left' }), 3).kind, 'ignore');
  // no record at all: a new node under an old name
  assert.equal(judgeRowAboutSelf(mine, row('n1', { incarnation: 3, status: 'left' }), undefined).kind, 'ignore');
  // once left, nothing brings it back but a new incarnation
  const left = row('n1', { incarnation: 4, heartbeat: 30, status: 'left' });
  assert.equal(judgeRowAboutSelf(left, row('n1', { incarnation: 4, heartbeat: 31, status: 'suspect' }), 4).kind, 'ignore');
});
