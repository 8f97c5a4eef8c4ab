/**
 * t-visibility by Monte Carlo over the WARS latency model of the PBS paper (Bailis et al., VLDB 2012,
 * section 4): a write is sent to N replicas, reaching replica i after W_i and acknowledged after a
 * further A_i; it commits when W acknowledgements are back. A read starts Δ after the commit, reaches
 * replica i after R_i and its answer comes back after S_i; the first R answers make the read. The read
 * is fresh when some replica among those R had the write when the read reached it:
 * W_i ≤ commit + Δ + R_i.
 *
 * One trial gives the smallest Δ at which its read would be fresh (the answering replicas are the
 * same for every Δ: they depend on R_i + S_i only), so one run yields the whole curve P(fresh at Δ).
 *
 * Two options fit ringkv's topology, which differs from the paper's (a coordinator apart from the
 * replicas): a write is always coordinated by a replica that stores it before sending it on
 * (`writeCoordinatorIsReplica`: one replica has W = A = 0), and a read coordinated by a replica reads
 * its own copy without the network (`readLocalProbability`: the chance that the read's coordinator is
 * one of the key's replicas, any of the N alike). With both off this is exactly the paper's model.
 */
import { checkQuorums } from './k-staleness.js';

/** draws one latency (ms) given a uniform [0, 1) source */
export type LatencySampler = (uniform: () => number) => number;

export interface WarsModel {
  n: number;
  r: number;
  w: number;
  /** coordinator → replica, until the replica has applied the write */
  write: LatencySampler;
  /** replica → coordinator, the acknowledgement */
  ack: LatencySampler;
  /** coordinator → replica, until the replica reads its state */
  read: LatencySampler;
  /** replica → coordinator, the answer */
  response: LatencySampler;
  /** @default false */
  writeCoordinatorIsReplica?: boolean;
  /** @default 0 */
  readLocalProbability?: number;
}

export interface VisibilityCurve {
  trials: number;
  /** P(a read Δ ms after the commit sees the write) */
  freshProbabilityAt(deltaMs: number): number;
  /** the smallest Δ (ms, ≥ 0) at which P(fresh) reaches p */
  deltaForProbability(p: number): number;
}

/** samples from an empirical distribution: each recorded value equally likely */
export function empiricalSampler(values: ArrayLike<number>): LatencySampler {
  if (values.length === 0) throw new RangeError('an empirical sampler needs at least one value');
  return (u) => values[Math.min(values.length - 1, Math.floor(u() * values.length))];
}

export function simulateVisibility(model: WarsModel, trials: number, uniform: () => number): VisibilityCurve {
  const { n, r, w } = model;
  checkQuorums(n, r, w);
  if (!Number.isInteger(trials) || trials < 1) throw new RangeError(`trials must be a positive integer, got ${trials}`);
  const pLocal = model.readLocalProbability ?? 0;
  if (!(pLocal >= 0 && pLocal <= 1)) throw new RangeError(`readLocalProbability must lie in [0, 1], got ${pLocal}`);
  const writeLocal = model.writeCoordinatorIsReplica === true;

  const arrive = new Float64Array(n); // W_i
  const acked = new Float64Array(n); // W_i + A_i
  const readAt = new Float64Array(n); // R_i
  const answered = new Float64Array(n); // R_i + S_i
  const order = new Int32Array(n);
  const thresholds = new Float64Array(trials);

  for (let t = 0; t < trials; t++) {
    for (let i = 0; i < n; i++) {
      if (writeLocal && i === 0) {
        arrive[i] = 0;
        acked[i] = 0;
      } else {
        arrive[i] = model.write(uniform);
        acked[i] = arrive[i] + model.ack(uniform);
      }
    }
    const commit = kthSmallest(acked, w, order);
    const local = pLocal > 0 && uniform() < pLocal ? Math.min(n - 1, Math.floor(uniform() * n)) : -1;
    for (let i = 0; i < n; i++) {
      if (i === local) {
        readAt[i] = 0;
        answered[i] = 0;
      } else {
        readAt[i] = model.read(uniform);
        answered[i] = readAt[i] + model.response(uniform);
      }
    }
    sortIndexes(answered, order);
    let best = Infinity;
    for (let j = 0; j < r; j++) {
      const i = order[j];
      const need = arrive[i] - commit - readAt[i];
      if (need < best) best = need;
    }
    thresholds[t] = best;
  }
  thresholds.sort();
  return curveOf(thresholds);
}

function curveOf(sorted: Float64Array): VisibilityCurve {
  const trials = sorted.length;
  return {
    trials,
    freshProbabilityAt(deltaMs: number): number {
      // count of thresholds ≤ Δ, by binary search
      let lo = 0;
      let hi = trials;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted[mid] <= deltaMs) lo = mid + 1;
        else hi = mid;
      }
      return lo / trials;
    },
    deltaForProbability(p: number): number {
      if (!(p > 0 && p <= 1)) throw new RangeError(`p must lie in (0, 1], got ${p}`);
      const index = Math.min(trials - 1, Math.max(0, Math.ceil(p * trials) - 1));
      return Math.max(0, sorted[index]);
    },
  };
}

/** the k-th smallest value (k from 1); order is scratch space */
function kthSmallest(values: Float64Array, k: number, order: Int32Array): number {
  sortIndexes(values, order);
  return values[order[k - 1]];
}

/** order = indexes of values, ascending (insertion sort: n is a replica count) */
function sortIndexes(values: Float64Array, order: Int32Array): void {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    let j = i;
    while (j > 0 && values[order[j - 1]] > v) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }
}
