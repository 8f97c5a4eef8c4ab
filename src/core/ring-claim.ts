/**
 * The claim for a ring change: the next owners, starting from the CURRENT owners, so that a change
 * moves only what it must. (The first ring of a cluster has no current owners: ring-claim-fresh.ts.)
 *
 * A claim that is a pure function of the member set cannot remember where partitions are: keeping
 * every node inside its balance band then costs moves between old nodes, up to about twice the ideal
 * on joins at 6–16 nodes. Here:
 * 1. Each node gets a target count inside its band (weight-proportional share ±BALANCE_TOLERANCE, at
 *    least floor..ceil of the share): a node already on the ring keeps what it holds, clamped into
 *    its new band; a new node aims at its share (never above 1.1× of it); then targets are nudged
 *    one unit at a time — away from the node furthest above its share, or to the node furthest below
 *    — until they sum to Q.
 * 2. Nodes holding more than their target give the difference; partitions of departed nodes are
 *    orphans; nodes below target take. So a join moves about the joiner's share and nothing between
 *    old nodes, and a leave or remove moves exactly the leaver's partitions.
 * 3. Which partitions: a giver gives first those where it crowds its neighbourhood (it also owns a
 *    partition within targetN - 1 steps), and each freed partition goes to the taker that crowds it
 *    least (same node nearby, then same zone nearby), then to the taker with the highest rendezvous
 *    score — so preference lists reach N distinct nodes, distinct zones first, in few steps.
 *
 * Integer arithmetic and fixed iteration orders over id-sorted members: every node computes the same.
 */
import { RingkvError } from './errors.js';
import { claimScores, countBands, type CountBand } from './ring-claim-fresh.js';

export { BALANCE_TOLERANCE, claimPartitions, claimScores, countBands, type CountBand } from './ring-claim-fresh.js';

export interface ReclaimInput {
  /** the next ring's member ids, sorted and unique */
  ids: readonly string[];
  weights: readonly number[];
  /** zone per member (undefined entries: no zone); absent when no member has a zone */
  zones?: readonly (string | undefined)[];
  /** current owner of each partition, as an index into ids, or -1 when its owner is not in ids */
  currentOwners: Int32Array;
  /** which of ids were members of the current ring (a member may own nothing when nodes > Q) */
  wasMember: readonly boolean[];
  /** replication factor the spread heuristic aims at @default 3 */
  targetN?: number;
}

/** The next owners (indexes into input.ids). */
export function reclaimPartitions(input: ReclaimInput): Int32Array {
  const { ids, weights, currentOwners } = input;
  const n = ids.length;
  const q = currentOwners.length;
  if (n === 0) throw new RingkvError('BAD_PARAMETER', 'a ring needs at least one member');
  const bands = countBands(weights, q);
  const counts = new Int32Array(n);
  for (let p = 0; p < q; p++) if (currentOwners[p] >= 0) counts[currentOwners[p]]++;
  const targets = chooseTargets(bands, counts, input.wasMember, q);

  const owners = Int32Array.from(currentOwners);
  const spread = new Spread(owners, n, Math.max(1, (input.targetN ?? 3) - 1), zoneIndexes(input.zones));
  const scores = claimScores(ids, q);
  const need = new Int32Array(n);
  for (let i = 0; i < n; i++) need[i] = targets[i] - counts[i];

  const freed: number[] = [];
  for (let p = 0; p < q; p++) if (owners[p] < 0) freed.push(p);
  for (let g = 0; g < n; g++) if (need[g] < 0) freed.push(...releaseFrom(g, -need[g], owners, spread, scores, q));
  for (const p of freed) owners[p] = -1;
  freed.sort((a, b) => a - b);

  for (const p of freed) {
    let best = -1;
    let bestCrowd = Infinity;
    let bestScore = -Infinity;
    for (let r = 0; r < n; r++) {
      if (need[r] <= 0) continue;
      const crowd = spread.crowding(r, p);
      const score = scores[r * q + p];
      if (crowd < bestCrowd || (crowd === bestCrowd && score > bestScore)) {
        best = r;
        bestCrowd = crowd;
        bestScore = score;
      }
    }
    if (best < 0) throw new RingkvError('INTERNAL', 'ring claim: a freed partition has no taker (targets do not sum to Q)');
    owners[p] = best;
    need[best]--;
  }
  return owners;
}

/**
 * Target counts inside the bands, summing to q, as close to what each node holds as the bands allow
 * (new nodes: their share, capped at 1.1× so a join never moves more than that for it).
 */
export function chooseTargets(bands: readonly CountBand[], counts: Int32Array, wasMember: readonly boolean[], q: number): Int32Array {
  const n = bands.length;
  const t = new Int32Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const { low, high, fairShare } = bands[i];
    const wanted = wasMember[i] ? counts[i] : Math.min(Math.round(fairShare), Math.floor(fairShare * 1.1));
    t[i] = Math.min(high, Math.max(low, wanted));
    sum += t[i];
  }
  // Each step moves one unit; the bands are feasible (sum of lows <= q <= sum of highs), so this ends.
  while (sum > q) {
    let pick = -1;
    for (let i = 0; i < n; i++) {
      if (t[i] <= bands[i].low) continue;
      if (pick < 0 || t[i] - bands[i].fairShare > t[pick] - bands[pick].fairShare) pick = i;
    }
    if (pick < 0) throw new RingkvError('INTERNAL', 'ring claim: bands infeasible (lows exceed Q)');
    t[pick]--;
    sum--;
  }
  while (sum < q) {
    let pick = -1;
    for (let i = 0; i < n; i++) {
      if (t[i] >= bands[i].high) continue;
      if (pick < 0 || bands[i].fairShare - t[i] > bands[pick].fairShare - t[pick]) pick = i;
    }
    if (pick < 0) throw new RingkvError('INTERNAL', 'ring claim: bands infeasible (highs below Q)');
    t[pick]++;
    sum++;
  }
  return t;
}

/** The `count` partitions giver g gives up: most crowded first, then where g's score is lowest. */
function releaseFrom(g: number, count: number, owners: Int32Array, spread: Spread, scores: Float64Array, q: number): number[] {
  const mine: number[] = [];
  for (let p = 0; p < q; p++) if (owners[p] === g) mine.push(p);
  const crowd = new Map(mine.map((p) => [p, spread.crowding(g, p)]));
  mine.sort((a, b) => crowd.get(b)! - crowd.get(a)! || scores[g * q + a] - scores[g * q + b] || a - b);
  return mine.slice(0, count);
}

function zoneIndexes(zones: readonly (string | undefined)[] | undefined): Int32Array | undefined {
  if (zones === undefined || zones.every((z) => z === undefined)) return undefined;
  const index = new Map<string, number>();
  // A zone-less node among zoned ones is a zone of its own (as in ring-preference.ts).
  return Int32Array.from(zones, (z, i) => {
    const key = z ?? `\u0000node:${i}`;
    let k = index.get(key);
    if (k === undefined) {
      k = index.size;
      index.set(key, k);
    }
    return k;
  });
}

/** How crowded a partition's neighbourhood would be for a given owner. */
class Spread {
  constructor(
    private readonly owners: Int32Array,
    private readonly n: number,
    /** partitions each side that count as the neighbourhood */
    private readonly window: number,
    private readonly zoneOf: Int32Array | undefined,
  ) {}

  /**
   * Neighbours (within window steps either way) owned by node r, weighted 2, plus neighbours owned by
   * another node of r's zone, weighted 1. Lower is better.
   */
  crowding(r: number, p: number): number {
    const { owners, window, zoneOf } = this;
    const q = owners.length;
    let cost = 0;
    const reach = Math.min(window, Math.floor((q - 1) / 2));
    for (let d = -reach; d <= reach; d++) {
      if (d === 0) continue;
      const o = owners[(p + d + q) % q];
      if (o < 0 || o >= this.n) continue;
      if (o === r) cost += 2;
      else if (zoneOf !== undefined && zoneOf[o] === zoneOf[r]) cost += 1;
    }
    return cost;
  }
}
