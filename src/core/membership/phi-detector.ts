/**
 * Phi accrual failure detector (Hayashibara et al., 2004) over heartbeat inter-arrival times, with
 * two models of the interval distribution:
 *
 * - `normal` (Akka's): phi 8 is reached about 5.2 observed standard deviations past the mean interval.
 *   Right for heartbeats sent straight to the watching node — their spread is network jitter, a few
 *   ms, so the deviation floor decides: at 500 ms heartbeats and a 250 ms floor, phi 8 after ≈ 1.8 s
 *   of silence. Its tail is thinner than real networks', and it is a hair trigger when the spread is
 *   tiny — hence the floor, and hence a suspicion is never enough for `down` (a probe round must fail).
 * - `exponential` (Cassandra's): phi = silence / mean × log10(e), so phi 8 needs 18.4 mean intervals
 *   (≈ 9 s at 500 ms) whatever the spread. Far too slow for the target, but robust to the bursty,
 *   multi-hop arrivals of heartbeats learned through gossip, where the normal model measured
 *   deviations of 250–410 ms and raised about 14 false suspicions per node-minute at 64 nodes.
 *
 * Intervals longer than maxSampleMs are not recorded: they are outages or pauses, not jitter, and
 * would make the detector slow for a long time after one (Cassandra drops them the same way).
 * Pure: the caller passes the time.
 */
export type PhiModel = 'normal' | 'exponential';

export interface PhiDetectorOptions {
  /** @default 'normal' */
  model: PhiModel;
  /** inter-arrival samples kept @default 100 */
  windowSize: number;
  /** floor of the standard deviation the normal model uses @default 250 */
  minStdDevMs: number;
  /** longer intervals are not samples @default 2000 */
  maxSampleMs: number;
  /** the interval assumed before any sample arrived: the heartbeat (gossip) interval @default 500 */
  expectedIntervalMs: number;
}

export const DEFAULT_PHI_DETECTOR_OPTIONS: PhiDetectorOptions = Object.freeze({
  model: 'normal',
  windowSize: 100,
  minStdDevMs: 250,
  maxSampleMs: 2000,
  expectedIntervalMs: 500,
});

export class PhiAccrualDetector {
  private readonly options: PhiDetectorOptions;
  /** grows by doubling up to windowSize (a node keeps a detector per member: 1000 members, 1000 detectors) */
  private samples: Float64Array;
  private count = 0;
  private next = 0;
  private sum = 0;
  private sumOfSquares = 0;
  private last: number;

  /** starts as if a heartbeat arrived at nowMs (a member is presumed alive when first known) */
  constructor(nowMs: number, options: Partial<PhiDetectorOptions> = {}) {
    this.options = { ...DEFAULT_PHI_DETECTOR_OPTIONS, ...options };
    if (this.options.model !== 'normal' && this.options.model !== 'exponential') throw new RangeError(`unknown phi model ${String(this.options.model)}`);
    const { windowSize, expectedIntervalMs } = this.options;
    if (!Number.isInteger(windowSize) || windowSize < 2) throw new RangeError(`windowSize must be an integer >= 2, got ${windowSize}`);
    if (!(expectedIntervalMs > 0)) throw new RangeError(`expectedIntervalMs must be > 0, got ${expectedIntervalMs}`);
    this.samples = new Float64Array(Math.min(windowSize, 8));
    this.last = nowMs;
    // Akka's bootstrap: two samples a quarter interval either side of the expected interval, so the
    // first estimate is (mean = interval, deviation = interval / 4); real samples push them out.
    this.record(expectedIntervalMs * 0.75);
    this.record(expectedIntervalMs * 1.25);
  }

  get lastArrivalMs(): number {
    return this.last;
  }

  get meanMs(): number {
    return this.sum / this.count;
  }

  /** the standard deviation the model uses (observed, floored at minStdDevMs) */
  get stdDevMs(): number {
    const mean = this.meanMs;
    const variance = Math.max(0, this.sumOfSquares / this.count - mean * mean);
    return Math.max(Math.sqrt(variance), this.options.minStdDevMs);
  }

  /** a new heartbeat arrived at nowMs */
  heartbeat(nowMs: number): void {
    const interval = nowMs - this.last;
    if (interval < 0) return;
    this.last = nowMs;
    if (interval <= this.options.maxSampleMs) this.record(interval);
  }

  /** Suspicion level at nowMs: 0 right after a heartbeat, growing with silence. */
  phi(nowMs: number): number {
    const silence = nowMs - this.last;
    if (this.options.model === 'exponential') return exponentialPhi(silence, this.meanMs);
    return phiOf(silence, this.meanMs, this.stdDevMs);
  }

  /** Moves the last arrival later by ms: the observer itself was stalled that long, so it saw nothing. */
  discount(ms: number): void {
    if (ms > 0) this.last += ms;
  }

  /** ms of silence after the last heartbeat at which phi reaches `threshold` under the current model */
  silenceToReach(threshold: number): number {
    if (this.options.model === 'exponential') return (threshold * this.meanMs) / Math.LOG10E;
    return silenceForPhi(threshold, this.meanMs, this.stdDevMs);
  }

  private record(interval: number): void {
    const windowSize = this.options.windowSize;
    if (this.count === this.samples.length && this.count < windowSize) {
      // not wrapped yet (next === count): grow in place of overwriting
      const grown = new Float64Array(Math.min(windowSize, this.samples.length * 2));
      grown.set(this.samples);
      this.samples = grown;
      this.next = this.count;
    }
    if (this.count === this.samples.length) {
      const old = this.samples[this.next];
      this.sum -= old;
      this.sumOfSquares -= old * old;
    } else {
      this.count++;
    }
    this.samples[this.next] = interval;
    this.next = (this.next + 1) % this.samples.length;
    this.sum += interval;
    this.sumOfSquares += interval * interval;
  }
}

/**
 * -log10 of the normal tail beyond elapsed, with the logistic approximation of the normal CDF Akka
 * uses (accurate to about 1e-4): P(later) = e / (1 + e) with e = exp(-z), z = y (1.5976 + 0.070566 y²)
 * and y the silence in standard deviations past the mean. Written as a softplus so that it stays
 * finite and monotone however long the silence (Akka's form overflows to Infinity past ~8 deviations).
 */
export function phiOf(elapsedMs: number, meanMs: number, stdDevMs: number): number {
  const y = (elapsedMs - meanMs) / stdDevMs;
  const z = y * (1.5976 + 0.070566 * y * y);
  // -ln(e / (1 + e)) = z + ln(1 + e^-z) = ln(1 + e^z)
  const nats = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  return nats * Math.LOG10E;
}

/** Cassandra's model: -log10(e^(-silence/mean)). */
export function exponentialPhi(silenceMs: number, meanMs: number): number {
  return Math.max(0, silenceMs) / meanMs * Math.LOG10E;
}

/** The silence at which phiOf reaches threshold (bisection; phiOf grows with elapsed). */
export function silenceForPhi(threshold: number, meanMs: number, stdDevMs: number): number {
  let lo = 0;
  let hi = meanMs + 100 * stdDevMs;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (phiOf(mid, meanMs, stdDevMs) < threshold) lo = mid;
    else hi = mid;
  }
  return hi;
}
