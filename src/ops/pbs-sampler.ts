/**
 * The staleness predictor of a running node (PBS, Bailis et al., VLDB 2012): recent samples of the
 * four WARS latencies — write to replica, ack back, read to replica, response back — and, from them,
 * the t-visibility prediction for every R and W at the node's N (src/core/pbs/t-visibility.ts).
 *
 * How one-way latencies are had without synchronised clocks: the coordinator times each replicate or
 * read request's round trip on its own clock, and the replica returns its service time measured on
 * its own clock (a duration: no synchronisation needed; see replication-observer.ts). The network
 * part, round trip minus service, is split evenly between the two directions (the assumption NTP makes
 * too: a symmetric path). Service time belongs where the replica's state changes or is read: a write
 * becomes visible when its merge is durable, at the end of service (W = net/2 + service, A = net/2); a
 * read samples the engine as it starts (R = net/2, S = net/2 + service). An asymmetric path shifts time
 * between W and A (or R and S) by half the asymmetry; on one LAN that is small next to fsync times.
 *
 * ringkv's topology enters the model too: a write is coordinated by a replica that stores it before
 * sending it on (one replica with W = A = 0), and a read coordinated by one of the key's replicas reads
 * its own copy; the fraction of such reads is measured here.
 */
import { simulateVisibility, empiricalSampler, type VisibilityCurve } from '../core/pbs/t-visibility.js';

export type PbsLeg = 'write' | 'ack' | 'read' | 'response';
export const PBS_LEGS: readonly PbsLeg[] = ['write', 'ack', 'read', 'response'];

/** Δ values (ms) at which the probability of a fresh read is reported */
export const PBS_DELTAS_MS = [0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

export interface PbsPrediction {
  r: number;
  w: number;
  /** P(fresh) for a read started right at the commit */
  freshAtCommit: number;
  /** the Δ (ms) at which P(fresh) reaches 50 %, 99 % and 99.9 % */
  delta50Ms: number;
  delta99Ms: number;
  delta999Ms: number;
  /** P(fresh) at each of PBS_DELTAS_MS */
  curve: Array<{ deltaMs: number; probability: number }>;
}

export interface PbsStatus {
  n: number;
  /** samples of each leg in the estimation window */
  samples: Record<PbsLeg, number>;
  /** every leg has at least minSamples */
  ready: boolean;
  /** what the figures mean now (e.g. that there are no samples yet) */
  note: string;
  /** fraction of reads this node coordinated as a replica of the key */
  readLocalProbability: number;
  /** one per (r, w) with 1 ≤ r, w ≤ n; empty until ready */
  predictions: PbsPrediction[];
  trials: number;
  computedAtMs: number | null;
}

export interface PbsSamplerOptions {
  n: number;
  /** samples kept per leg (the most recent) @default 4096 */
  capacity?: number;
  /** samples each leg needs before predicting @default 30 */
  minSamples?: number;
  /** Monte Carlo trials per (r, w) @default 10000 */
  trials?: number;
  /** a prediction is reused for this long @default 5000 */
  maxAgeMs?: number;
  /** uniform [0, 1) source for the Monte Carlo */
  uniform: () => number;
}

class Ring {
  readonly values: Float64Array;
  private next = 0;
  size = 0;
  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }
  push(v: number): void {
    this.values[this.next] = v;
    this.next = (this.next + 1) % this.values.length;
    if (this.size < this.values.length) this.size++;
  }
  snapshot(): Float64Array {
    return this.values.slice(0, this.size);
  }
}

export class PbsSampler {
  readonly n: number;
  private readonly legs: Record<PbsLeg, Ring>;
  private readonly minSamples: number;
  private readonly trials: number;
  private readonly maxAgeMs: number;
  private readonly uniform: () => number;
  private readsLocal = 0;
  private readsTotal = 0;
  private cached: PbsStatus | undefined;
  private cachedAtMs = 0;
  /** samples recorded in all, and at the last computation: no new samples, no new Monte Carlo */
  private recorded = 0;
  private recordedAtCompute = -1;

  constructor(opts: PbsSamplerOptions) {
    this.n = opts.n;
    const capacity = opts.capacity ?? 4096;
    this.legs = { write: new Ring(capacity), ack: new Ring(capacity), read: new Ring(capacity), response: new Ring(capacity) };
    this.minSamples = opts.minSamples ?? 30;
    this.trials = opts.trials ?? 10_000;
    this.maxAgeMs = opts.maxAgeMs ?? 5000;
    this.uniform = opts.uniform;
  }

  record(leg: PbsLeg, ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) {
      this.legs[leg].push(ms);
      this.recorded++;
    }
  }

  recordRead(localReplica: boolean): void {
    this.readsTotal++;
    if (localReplica) this.readsLocal++;
  }

  /**
   * The current prediction: recomputed at most every maxAgeMs and only when new samples came in (an
   * idle node computes nothing), but at once when it becomes possible.
   */
  status(nowMs: number): PbsStatus {
    const becameReady = this.cached !== undefined && !this.cached.ready && this.isReady();
    const stale = nowMs - this.cachedAtMs >= this.maxAgeMs && this.recorded !== this.recordedAtCompute;
    if (this.cached === undefined || becameReady || stale) {
      this.cached = this.compute(nowMs);
      this.cachedAtMs = nowMs;
      this.recordedAtCompute = this.recorded;
    }
    return this.cached;
  }

  private isReady(): boolean {
    return PBS_LEGS.every((l) => this.legs[l].size >= this.minSamples);
  }

  private compute(nowMs: number): PbsStatus {
    const samples = { write: this.legs.write.size, ack: this.legs.ack.size, read: this.legs.read.size, response: this.legs.response.size };
    const readLocalProbability = this.readsTotal === 0 ? 0 : this.readsLocal / this.readsTotal;
    const base = { n: this.n, samples, readLocalProbability, trials: this.trials };
    if (this.n < 2) {
      return { ...base, ready: false, note: 'n = 1: one replica per key, so every read is fresh; nothing to predict', predictions: [], computedAtMs: null };
    }
    if (!this.isReady()) {
      const missing = PBS_LEGS.filter((l) => this.legs[l].size < this.minSamples);
      const none = PBS_LEGS.every((l) => this.legs[l].size === 0);
      const note = none
        ? 'no samples yet: the prediction needs replicated writes and reads coordinated by this node'
        : `not enough samples yet (${missing.map((l) => `${l} ${this.legs[l].size}/${this.minSamples}`).join(', ')})`;
      return { ...base, ready: false, note, predictions: [], computedAtMs: null };
    }
    const [write, ack, read, response] = PBS_LEGS.map((l) => empiricalSampler(this.legs[l].snapshot()));
    const predictions: PbsPrediction[] = [];
    for (let r = 1; r <= this.n; r++) {
      for (let w = 1; w <= this.n; w++) {
        const curve = simulateVisibility({ n: this.n, r, w, write, ack, read, response, writeCoordinatorIsReplica: true, readLocalProbability }, this.trials, this.uniform);
        predictions.push(predictionOf(r, w, curve));
      }
    }
    const note = `from the last ${Math.min(...Object.values(samples))}+ samples per leg, ${this.trials} Monte Carlo trials per R/W`;
    return { ...base, ready: true, note, predictions, computedAtMs: nowMs };
  }
}

function predictionOf(r: number, w: number, curve: VisibilityCurve): PbsPrediction {
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    r,
    w,
    freshAtCommit: curve.freshProbabilityAt(0),
    delta50Ms: round(curve.deltaForProbability(0.5)),
    delta99Ms: round(curve.deltaForProbability(0.99)),
    delta999Ms: round(curve.deltaForProbability(0.999)),
    curve: PBS_DELTAS_MS.map((deltaMs) => ({ deltaMs, probability: curve.freshProbabilityAt(deltaMs) })),
  };
}
