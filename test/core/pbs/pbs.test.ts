/**
 * The PBS estimator against what is known exactly: the paper's closed form for k-staleness, an
 * analytic t-visibility curve for exponential write latencies, and R + W > N (always fresh).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { binomial, kStaleProbability } from '../../../src/core/pbs/k-staleness.js';
import { empiricalSampler, simulateVisibility, type LatencySampler } from '../../../src/core/pbs/t-visibility.js';
import { SeededRandom } from '../../../src/sim/seeded-random.js';

const zero: LatencySampler = () => 0;
const uniformMs: LatencySampler = (u) => u();
const exponential = (meanMs: number): LatencySampler => (u) => -meanMs * Math.log(1 - u());

function source(seed: number): () => number {
  const rng = new SeededRandom(seed);
  return () => rng.next();
}

test('binomial coefficients and the closed form of k-staleness', () => {
  assert.equal(binomial(5, 2), 10);
  assert.equal(binomial(16, 8), 12870);
  assert.equal(binomial(3, 4), 0);
  assert.equal(kStaleProbability(3, 1, 1, 1), 2 / 3); // the paper's example
  assert.ok(Math.abs(kStaleProbability(3, 1, 1, 2) - 4 / 9) < 1e-12);
  assert.equal(kStaleProbability(5, 2, 2), 3 / 10);
  assert.equal(kStaleProbability(3, 2, 2), 0);
  assert.equal(kStaleProbability(3, 1, 3), 0);
  assert.throws(() => kStaleProbability(3, 4, 1), /at most n/);
  assert.throws(() => kStaleProbability(3, 1, 1, 0), /k must be/);
});

test('Monte Carlo at Δ = 0 matches the closed form when only the W acknowledging replicas have the write', () => {
  // A = R = 0 and continuous W_i: at commit exactly the W first replicas hold the write, and the R
  // answering replicas (ordered by S_i alone) are a uniform R-subset independent of them.
  const trials = 200_000;
  for (const [n, r, w] of [[3, 1, 1], [3, 1, 2], [3, 2, 1], [5, 1, 2], [5, 2, 2], [5, 1, 3], [3, 2, 2]] as const) {
    const curve = simulateVisibility({ n, r, w, write: exponential(10), ack: zero, read: zero, response: uniformMs }, trials, source(n * 100 + r * 10 + w));
    const stale = 1 - curve.freshProbabilityAt(0);
    const expected = kStaleProbability(n, r, w);
    const sigma = Math.sqrt((expected * (1 - expected)) / trials);
    assert.ok(Math.abs(stale - expected) <= 5 * sigma + 1e-9, `N=${n} R=${r} W=${w}: Monte Carlo ${stale.toFixed(4)} vs closed form ${expected.toFixed(4)}`);
  }
});

test('t-visibility follows the analytic curve for exponential write latencies (N=3, R=W=1)', () => {
  // commit = min W_i; the answering replica is uniform; by memorylessness the others' W_j − commit is
  // exponential again: P(fresh at Δ) = 1/3 + 2/3·(1 − e^(−Δ/m)).
  const m = 10;
  const analytic = (d: number): number => 1 / 3 + (2 / 3) * (1 - Math.exp(-d / m));
  const trials = 200_000;
  const paper = simulateVisibility({ n: 3, r: 1, w: 1, write: exponential(m), ack: zero, read: zero, response: uniformMs }, trials, source(7));
  // ringkv's topology gives the same curve: the coordinator (a replica) commits at once with W=1, the
  // read is served by a uniformly chosen replica's own copy, which has the write iff it is the
  // coordinator or W_j ≤ Δ.
  const ringkv = simulateVisibility(
    { n: 3, r: 1, w: 1, write: exponential(m), ack: exponential(3), read: exponential(3), response: exponential(3), writeCoordinatorIsReplica: true, readLocalProbability: 1 },
    trials,
    source(8),
  );
  for (const curve of [paper, ringkv]) {
    for (const d of [0, 1, 5, 10, 30, 60]) {
      assert.ok(Math.abs(curve.freshProbabilityAt(d) - analytic(d)) < 0.005, `Δ=${d}: ${curve.freshProbabilityAt(d)} vs ${analytic(d)}`);
    }
    // 1/3 + 2/3(1 − e^(−Δ/m)) = 0.999  ⇔  Δ = −m·ln(0.0015) ≈ 65.0 ms
    const d999 = curve.deltaForProbability(0.999);
    assert.ok(Math.abs(d999 - -m * Math.log(0.0015)) < 0.15 * 65, `Δ(99.9 %) = ${d999}`);
    assert.equal(curve.deltaForProbability(1 / 3 - 0.01), 0);
  }
});

test('with R + W > N every read is fresh at once, whatever the latencies', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.nat(), fc.nat(), fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 4, maxLength: 4 }), fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (n, a, b, means, writeLocal, pLocal, seed) => {
      const w = (a % n) + 1;
      const r = Math.max(1, Math.min(n, n - w + 1 + (b % n)));
      const [mw, ma, mr, ms] = means.map(exponential);
      const curve = simulateVisibility({ n, r, w, write: mw, ack: ma, read: mr, response: ms, writeCoordinatorIsReplica: writeLocal, readLocalProbability: pLocal }, 500, source(seed));
      assert.equal(curve.freshProbabilityAt(0), 1, `n=${n} r=${r} w=${w}`);
    }),
    { numRuns: 200 },
  );
});

test('empirical samplers draw every recorded value and refuse an empty record', () => {
  const seen = new Set<number>();
  const sample = empiricalSampler([1, 2, 3]);
  const u = source(3);
  for (let i = 0; i < 100; i++) seen.add(sample(u));
  assert.deepEqual([...seen].sort(), [1, 2, 3]);
  assert.throws(() => empiricalSampler([]), /at least one value/);
  assert.throws(() => simulateVisibility({ n: 3, r: 1, w: 1, write: zero, ack: zero, read: zero, response: zero }, 0, u), /trials/);
});
