import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PhiAccrualDetector, exponentialPhi, phiOf, silenceForPhi } from '../../../src/core/membership/phi-detector.js';

/** a detector fed `count` heartbeats at the given intervals, starting at t = 0; returns it and the last arrival */
function fed(intervals: readonly number[], options: ConstructorParameters<typeof PhiAccrualDetector>[1] = {}) {
  const d = new PhiAccrualDetector(0, options);
  let t = 0;
  for (const i of intervals) {
    t += i;
    d.heartbeat(t);
  }
  return { d, t };
}

test('normal model at regular 500 ms heartbeats: the deviation floor decides, phi 8 after ~1.8 s of silence', () => {
  const { d, t } = fed(Array.from({ length: 200 }, () => 500));
  assert.equal(d.meanMs, 500);
  assert.equal(d.stdDevMs, 250, 'the observed deviation is 0; the floor applies');
  assert.ok(d.phi(t) < 0.5, 'right after a heartbeat');
  const s = d.silenceToReach(8);
  assert.ok(s > 1750 && s < 1850, `phi 8 after ${s} ms`);
  assert.ok(d.phi(t + s - 1) < 8 && d.phi(t + s + 1) >= 8);
  // a 2-s silence is beyond the threshold, a 1-s one far below it
  assert.ok(d.phi(t + 2000) > 8);
  assert.ok(d.phi(t + 1000) < 3);
});

test('exponential model: phi 8 after 18.4 mean intervals whatever the spread (Cassandra: ~9 s at 500 ms)', () => {
  const { d, t } = fed(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 300 : 700)), { model: 'exponential' });
  assert.equal(d.meanMs, 500);
  const s = d.silenceToReach(8);
  assert.ok(Math.abs(s - 18.42 * 500) < 10, `phi 8 after ${s} ms`);
  assert.ok(Math.abs(d.phi(t + s) - 8) < 1e-9);
  assert.equal(exponentialPhi(0, 500), 0);
});

test('the normal model follows the spread it observes', () => {
  const jittery = fed(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 100 : 900))).d;
  assert.ok(jittery.stdDevMs > 390 && jittery.stdDevMs < 410);
  assert.ok(jittery.silenceToReach(8) > 2500, 'a jittery peer gets more slack');
});

test('phi grows with silence (property, both models)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 1999 }), { minLength: 1, maxLength: 60 }),
      fc.constantFrom<'normal' | 'exponential'>('normal', 'exponential'),
      fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 2, maxLength: 10 }),
      (intervals, model, silences) => {
        const { d, t } = fed(intervals, { model });
        const sorted = [...silences].sort((a, b) => a - b);
        let previous = -Infinity;
        for (const s of sorted) {
          const phi = d.phi(t + s);
          assert.ok(Number.isFinite(phi) && phi >= 0);
          assert.ok(phi >= previous - 1e-9, `phi fell from ${previous} to ${phi} at ${s} ms`);
          previous = phi;
        }
      },
    ),
    { numRuns: 300, seed: 13 },
  );
});

test('outages are not samples; the window forgets; a local stall is discounted', () => {
  const d = new PhiAccrualDetector(0, { windowSize: 4 });
  for (let t = 500; t <= 2000; t += 500) d.heartbeat(t);
  d.heartbeat(12_000); // a 10-s outage: not a sample of normal jitter
  assert.equal(d.meanMs, 500);
  assert.equal(d.lastArrivalMs, 12_000);
  for (let t = 12_300; t <= 13_500; t += 300) d.heartbeat(t);
  assert.equal(d.meanMs, 300, 'the window of 4 holds only the newest samples');
  const before = d.phi(16_000);
  d.discount(2000);
  assert.equal(d.lastArrivalMs, 15_500);
  assert.ok(d.phi(16_000) < before);
  d.heartbeat(15_000); // out-of-order arrival: ignored
  assert.equal(d.lastArrivalMs, 15_500);
  assert.throws(() => new PhiAccrualDetector(0, { windowSize: 1 }), RangeError);
  assert.throws(() => new PhiAccrualDetector(0, { model: 'weibull' as 'normal' }), RangeError);
});

test('phiOf and silenceForPhi are inverse', () => {
  for (const [mean, sd] of [
    [500, 250],
    [650, 400],
    [1000, 100],
  ]) {
    for (const threshold of [1, 3, 8, 12]) {
      const s = silenceForPhi(threshold, mean, sd);
      assert.ok(Math.abs(phiOf(s, mean, sd) - threshold) < 1e-6);
    }
  }
});
