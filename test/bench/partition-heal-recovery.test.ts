import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { firstAckAfter, steadyFrom, tally, type WriteRecord } from '../../bench/partition-heal/recovery.js';

const done = (invokedMs: number, ok: boolean): WriteRecord => ({ invokedMs, doneMs: invokedMs + 5, ok });

test('firstAckAfter: the first acknowledged write invoked at or after the instant', () => {
  const ws = [done(0, true), done(10, false), done(20, false), done(30, true), done(40, true)];
  assert.equal(firstAckAfter(ws, 5)?.invokedMs, 30);
  assert.equal(firstAckAfter(ws, 0)?.invokedMs, 0);
  assert.equal(firstAckAfter(ws, 41), undefined);
});

test('steadyFrom: the window opens at the first ack after the last failure, and is known only once watched to its end', () => {
  const ws = [done(0, false), done(100, true), done(200, false), done(300, true), done(400, true), done(900, true)];
  assert.equal(steadyFrom(ws, 0, 500), 300);
  // not watched to its end yet: nothing invoked at or after 300 + 700
  assert.equal(steadyFrom(ws, 0, 700), undefined);
  // a write still in flight inside the window leaves it undecided
  assert.equal(steadyFrom([done(0, true), { invokedMs: 50 }, done(600, true)], 0, 500), undefined);
  assert.equal(steadyFrom([done(0, false), done(600, false)], 0, 500), undefined);
});

test('steadyFrom agrees with a direct check of every window', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 40 }), fc.integer({ min: 1, max: 200 }), (steps, windowMs) => {
      let t = 0;
      const ws = steps.map(([gap, ok]) => done((t += gap), ok));
      const last = ws.length ? ws[ws.length - 1].invokedMs : 0;
      // the earliest ack whose window [t, t+windowMs) holds no failure and ends before the last invocation
      const expected = ws.find((w) => w.ok && w.invokedMs + windowMs <= last && ws.every((x) => x.ok || x.invokedMs < w.invokedMs || x.invokedMs >= w.invokedMs + windowMs));
      assert.equal(steadyFrom(ws, 0, windowMs), expected?.invokedMs);
    }),
  );
});

test('tally counts the writes invoked in a span by outcome', () => {
  assert.deepEqual(tally([done(0, true), done(10, false), { invokedMs: 15 }, done(20, true)], 5, 20), { ok: 0, failed: 1 });
});
