/**
 * The first ring: who owns which partition when there is no current ring to start from — a pure
 * function of (sorted member ids, weights, Q). Later rings come from ring-claim.ts, which starts from
 * the current owners and moves only what a change needs.
 *
 * 1. Every (node, partition) pair gets a fixed pseudo-random score from hashing the node id and the
 *    partition number. Scores never depend on who else is in the cluster, so a partition only
 *    changes hands when the node set changes around it (rendezvous / highest-random-weight hashing).
 * 2. Each partition first goes to its highest-scoring node. That alone moves the minimum on a join
 *    or leave but is unbalanced (counts are roughly binomial).
 * 3. Each node has a band of acceptable counts around its weight-proportional fair share
 *    (±BALANCE_TOLERANCE). Nodes outside their band are brought inside with the cheapest moves:
 *    augmenting paths of least total score loss between nodes (a small min-cost-flow over the node
 *    graph), which keeps the result as close to step 2 as the band allows.
 *
 * Why a band and not exact counts: correcting counts exactly re-balances on every change and each
 * unit of correction moves a partition between old nodes; a band absorbs most of that noise, which
 * measurably lowers data movement on joins and leaves (see the ring tests and the report).
 *
 * Everything here is integer or IEEE arithmetic in a fixed order over members sorted by id, so every
 * node computes bit-identical results.
 */
import { fmix32, murmur3x86_128 } from './hash.js';
import { RingkvError } from './errors.js';

/** Each node's partition count stays within this fraction of its weight-proportional fair share. */
export const BALANCE_TOLERANCE = 0.1;

/** Seed for (node, partition) scores; distinct from the key-hash seed so the two are unrelated. */
const CLAIM_SEED = 0x52494e47; // "RING"

const TWO_POW_21 = 2 ** 21;
const TWO_POW_53 = 2 ** 53;

const utf8 = new TextEncoder();

/**
 * Scores in [0, 1) with 53 pseudo-random bits, row-major: scores[node * Q + partition]. Each node id
 * is hashed once (MurmurHash3); per-partition scores come from murmur's 32-bit finalizer over the
 * partition number keyed by that digest — a full hash per pair would cost Q * n hash calls.
 */
export function claimScores(ids: readonly string[], partitions: number): Float64Array {
  const scores = new Float64Array(ids.length * partitions);
  const digest = new Uint32Array(4);
  for (let i = 0; i < ids.length; i++) {
    murmur3x86_128(utf8.encode(ids[i]), CLAIM_SEED, digest);
    const [k1, k2, k3, k4] = digest;
    const row = i * partitions;
    for (let p = 0; p < partitions; p++) {
      const a = fmix32(Math.imul(p + 1, 0x9e3779b1) ^ k1);
      const hi = fmix32((a + k2) | 0) >>> 0;
      const lo = fmix32(((hi ^ k3) + Math.imul(p, 0x85ebca6b) + k4) | 0) >>> 0;
      scores[row + p] = (hi * TWO_POW_21 + (lo >>> 11)) / TWO_POW_53;
    }
  }
  return scores;
}

/** Inclusive [low, high] partition counts each node may hold. */
export interface CountBand {
  low: number;
  high: number;
  fairShare: number;
}

/**
 * Weight-proportional bands. Always wide enough to contain floor and ceil of the fair share, so the
 * bands are feasible (sum of lows <= Q <= sum of highs) even for tiny shares.
 */
export function countBands(weights: readonly number[], partitions: number, tolerance = BALANCE_TOLERANCE): CountBand[] {
  let totalWeight = 0;
  for (const w of weights) totalWeight += w;
  return weights.map((w) => {
    const fairShare = (partitions * w) / totalWeight;
    const low = Math.min(Math.floor(fairShare), Math.ceil(fairShare * (1 - tolerance)));
    const high = Math.max(Math.ceil(fairShare), Math.floor(fairShare * (1 + tolerance)));
    return { low: Math.max(0, low), high: Math.min(partitions, high), fairShare };
  });
}

/**
 * Assigns every partition to a node index (into ids, which must be sorted and unique).
 * Returns owners[partition] = node index.
 */
export function claimPartitions(ids: readonly string[], weights: readonly number[], partitions: number): Int32Array {
  const n = ids.length;
  const q = partitions;
  const scores = claimScores(ids, q);
  const bands = countBands(weights, q);
  const owners = new Int32Array(q);
  const counts = new Int32Array(n);

  for (let p = 0; p < q; p++) {
    let best = 0;
    let bestScore = scores[p];
    for (let i = 1; i < n; i++) {
      const s = scores[i * q + p];
      if (s > bestScore) {
        best = i;
        bestScore = s;
      }
    }
    owners[p] = best;
    counts[best]++;
  }

  const fixer = new BandFixer(scores, owners, counts, n, q);
  // Shed overloads first (they can only go to nodes with room), then fill underloads from nodes
  // that can spare one. Each step moves exactly one unit of count along the cheapest path.
  const overloaded = (i: number): boolean => counts[i] > bands[i].high;
  const underloaded = (i: number): boolean => counts[i] < bands[i].low;
  fixer.run(overloaded, (i) => counts[i] < bands[i].high, () => anyNode(n, overloaded));
  fixer.run((i) => counts[i] > bands[i].low, underloaded, () => anyNode(n, underloaded));
  return owners;
}

function anyNode(n: number, predicate: (i: number) => boolean): boolean {
  for (let i = 0; i < n; i++) if (predicate(i)) return true;
  return false;
}

/** Moves partitions along least-cost augmenting paths in the node graph. */
class BandFixer {
  private readonly edgeCost: Float64Array;
  private readonly edgePartition: Int32Array;
  private readonly dist: Float64Array;
  private readonly prev: Int32Array;
  /** rows of the edge table that are stale because the node's holdings changed */
  private readonly dirtyRows: Uint8Array;

  constructor(
    private readonly scores: Float64Array,
    private readonly owners: Int32Array,
    private readonly counts: Int32Array,
    private readonly n: number,
    private readonly q: number,
  ) {
    this.edgeCost = new Float64Array(n * n);
    this.edgePartition = new Int32Array(n * n);
    this.dist = new Float64Array(n);
    this.prev = new Int32Array(n);
    this.dirtyRows = new Uint8Array(n).fill(1);
  }

  /**
   * While `unfinished()`: move one unit of count from a node where `canGive` holds to a node where
   * `canTake` holds (the two never overlap), along the path of least total score loss.
   */
  run(canGive: (i: number) => boolean, canTake: (i: number) => boolean, unfinished: () => boolean): void {
    const { n } = this;
    // Each step fixes one unit of imbalance, so Q steps bound the work (and guard against bugs).
    for (let step = 0; step <= this.q; step++) {
      if (!unfinished()) return;
      this.computeEdges();
      this.shortestPaths(canGive);
      let sink = -1;
      for (let i = 0; i < n; i++) {
        if (!canTake(i) || this.dist[i] === Infinity) continue;
        if (sink < 0 || this.dist[i] < this.dist[sink]) sink = i;
      }
      if (sink < 0) throw new RingkvError('INTERNAL', 'ring claim: no node can take a partition (bands infeasible)');
      if (!this.augment(sink)) this.moveDirect(canGive, sink);
    }
    throw new RingkvError('INTERNAL', 'ring claim: balancing did not converge');
  }

  /**
   * edgeCost[a*n+b] = least score loss of moving one of a's partitions to b, and which one (the
   * lowest-numbered on ties). Only rows of nodes whose holdings changed since the last call are
   * recomputed, which keeps each balancing step O(Q) instead of O(Q * n).
   */
  private computeEdges(): void {
    const { n, q, scores, owners, edgeCost, edgePartition, dirtyRows } = this;
    for (let a = 0; a < n; a++) {
      if (!dirtyRows[a]) continue;
      edgeCost.fill(Infinity, a * n, a * n + n);
      edgePartition.fill(-1, a * n, a * n + n);
    }
    for (let p = 0; p < q; p++) {
      const a = owners[p];
      if (!dirtyRows[a]) continue;
      const sa = scores[a * q + p];
      const row = a * n;
      for (let b = 0; b < n; b++) {
        if (b === a) continue;
        const cost = sa - scores[b * q + p];
        if (cost < edgeCost[row + b]) {
          edgeCost[row + b] = cost;
          edgePartition[row + b] = p;
        }
      }
    }
    dirtyRows.fill(0);
  }

  /** Bellman-Ford from every giver at distance 0 (edges may be negative; n is small). */
  private shortestPaths(canGive: (i: number) => boolean): void {
    const { n, dist, prev, edgeCost } = this;
    for (let i = 0; i < n; i++) {
      dist[i] = canGive(i) ? 0 : Infinity;
      prev[i] = -1;
    }
    for (let round = 0; round < n; round++) {
      let changed = false;
      for (let a = 0; a < n; a++) {
        const da = dist[a];
        if (da === Infinity) continue;
        const row = a * n;
        for (let b = 0; b < n; b++) {
          if (b === a) continue;
          const d = da + edgeCost[row + b];
          if (d < dist[b]) {
            dist[b] = d;
            prev[b] = a;
            changed = true;
          }
        }
      }
      if (!changed) return;
    }
  }

  /**
   * Moves partitions along prev-links ending at sink: each node on the path passes one on.
   * Returns false (moving nothing) if the links do not lead back to a giver, which the min-cost
   * invariant rules out; the caller then falls back to a direct move so balancing always finishes.
   */
  private augment(sink: number): boolean {
    const { n, prev, edgePartition } = this;
    const moves: Array<[partition: number, to: number]> = [];
    const seen = new Uint8Array(n);
    let b = sink;
    while (prev[b] !== -1) {
      if (seen[b]) return false;
      seen[b] = 1;
      const a = prev[b];
      moves.push([edgePartition[a * n + b], b]);
      b = a;
    }
    if (moves.length === 0) return false;
    for (const [p, to] of moves) this.move(p, to);
    return true;
  }

  /** The cheapest single move from any giver straight to sink. */
  private moveDirect(canGive: (i: number) => boolean, sink: number): void {
    const { n, edgeCost, edgePartition } = this;
    let from = -1;
    for (let a = 0; a < n; a++) {
      if (!canGive(a) || edgePartition[a * n + sink] < 0) continue;
      if (from < 0 || edgeCost[a * n + sink] < edgeCost[from * n + sink]) from = a;
    }
    if (from < 0) throw new RingkvError('INTERNAL', 'ring claim: no giver for a direct move');
    this.move(edgePartition[from * n + sink], sink);
  }

  private move(partition: number, to: number): void {
    this.dirtyRows[this.owners[partition]] = 1;
    this.dirtyRows[to] = 1;
    this.counts[this.owners[partition]]--;
    this.owners[partition] = to;
    this.counts[to]++;
  }
}
