import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScopedClock, skewedNowMs, VirtualClock, type ClockSkew } from '../../src/sim/virtual-clock.js';
import { TimerQueue } from '../../src/sim/timer-queue.js';

test('timers fire in (time, insertion) order, whatever order they were set in', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 60 }), (specs) => {
      const clock = new VirtualClock(1000);
      const fired: number[] = [];
      const handles = specs.map(([delay], i) => clock.setTimer(delay, () => fired.push(i)));
      specs.forEach(([, cancel], i) => cancel && handles[i].cancel());
      while (clock.fireNext()) {
        // run all
      }
      const expected = specs
        .map(([delay, cancel], i) => ({ delay, cancel, i }))
        .filter((s) => !s.cancel)
        .sort((a, b) => a.delay - b.delay || a.i - b.i)
        .map((s) => s.i);
      assert.deepEqual(fired, expected);
      assert.equal(clock.pendingTimers, 0);
    }),
  );
});

test('time jumps to each timer; fireNext respects its limit; time never goes back', () => {
  const clock = new VirtualClock(0);
  const seen: number[] = [];
  clock.setTimer(10, () => {
    seen.push(clock.nowMs());
    clock.setTimer(0, () => seen.push(clock.nowMs()));
  });
  clock.setTimer(2.2, () => seen.push(clock.nowMs())); // rounds up to 3
  assert.equal(clock.fireNext(2), false);
  assert.equal(clock.nowMs(), 0);
  assert.equal(clock.fireNext(), true);
  assert.equal(clock.fireNext(), true);
  assert.equal(clock.fireNext(), true);
  assert.deepEqual(seen, [3, 10, 10]);
  assert.throws(() => clock.advanceTo(5), RangeError);
  clock.setTimer(5, () => {});
  assert.throws(() => clock.advanceTo(100), /skip a timer/);
});

test('timer queue counts live timers through cancel and pop, including double cancel', () => {
  const q = new TimerQueue();
  const a = q.push(1, () => {});
  const b = q.push(2, () => {});
  q.cancel(a);
  q.cancel(a);
  assert.equal(q.size, 1);
  assert.equal(q.pop(), b);
  q.cancel(b); // cancelling a fired timer is a no-op
  assert.equal(q.size, 0);
  assert.equal(q.pop(), undefined);
});

test('a scoped clock cancels all its timers on kill and ignores later ones', () => {
  const clock = new VirtualClock(0);
  const scoped = new ScopedClock(clock);
  let fired = 0;
  scoped.setTimer(5, () => fired++);
  scoped.setTimer(6, () => fired++).cancel();
  clock.setTimer(7, () => fired += 100);
  assert.equal(scoped.pendingTimers, 1);
  scoped.kill();
  scoped.setTimer(1, () => fired++);
  while (clock.fireNext()) {
    // run all
  }
  assert.equal(fired, 100);
  assert.equal(scoped.nowMs(), 7);
});

test('a skewed clock reads virtual time plus offset plus drift, and its timers still fire on virtual time', () => {
  const clock = new VirtualClock(1_000_000);
  let skew: ClockSkew = { offsetMs: 60_000, driftPpm: 10_000, sinceMs: 1_000_000 };
  const scoped = new ScopedClock(clock, () => skew);
  assert.equal(scoped.nowMs(), 1_060_000);
  let firedAt: number | undefined;
  scoped.setTimer(1000, () => (firedAt = clock.nowMs()));
  while (clock.fireNext()) {
    // run all
  }
  assert.equal(firedAt, 1_001_000, 'the timer fired after 1000 virtual ms');
  assert.equal(scoped.nowMs(), 1_001_000 + 60_000 + 10, '1% fast: 10 ms gained over 1000 ms');
  // a step backwards (an NTP correction) shows at once
  skew = { offsetMs: -60_000, driftPpm: 0, sinceMs: clock.nowMs() };
  assert.equal(scoped.nowMs(), 1_001_000 - 60_000);
  assert.equal(skewedNowMs(500, { offsetMs: 0, driftPpm: -1000, sinceMs: 0 }), 500, 'whole ms: 0.5 ms lost rounds away');
  assert.equal(skewedNowMs(5000, { offsetMs: 0, driftPpm: -1000, sinceMs: 0 }), 4995);
});
