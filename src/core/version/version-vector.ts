import type { NodeId } from '../member.js';

/** A write's identity: the writer node and its per-key counter at that node. */
export interface Dot {
  node: NodeId;
  counter: number;
}

/**
 * One entry of a version vector. `updatedMs` is when the entry last advanced; it exists only so
 * that pruning can drop the oldest entries (Riak's old_vclock).
 */
export interface VvEntry {
  node: NodeId;
  counter: number;
  updatedMs: number;
}

/** Sorted by node id, one entry per node. Entry `node: c` means "every dot (node, 1..c) was seen". */
export type VersionVector = VvEntry[];

export type Ordering = 'before' | 'after' | 'equal' | 'concurrent';

export function vvGet(vv: VersionVector, node: NodeId): number {
  for (const e of vv) if (e.node === node) return e.counter;
  return 0;
}

export function vvCovers(vv: VersionVector, dot: Dot): boolean {
  return vvGet(vv, dot.node) >= dot.counter;
}

/** Pointwise maximum; keeps the later updatedMs of entries that tie. */
export function vvMerge(a: VersionVector, b: VersionVector): VersionVector {
  const out: VersionVector = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.node < y.node)) {
      out.push({ ...x });
      i++;
    } else if (x === undefined || y.node < x.node) {
      out.push({ ...y });
      j++;
    } else {
      const counter = Math.max(x.counter, y.counter);
      const updatedMs = x.counter === y.counter ? Math.max(x.updatedMs, y.updatedMs) : x.counter > y.counter ? x.updatedMs : y.updatedMs;
      out.push({ node: x.node, counter, updatedMs });
      i++;
      j++;
    }
  }
  return out;
}

/** Returns vv with node's entry set to counter (must not go backwards). */
export function vvAdvance(vv: VersionVector, node: NodeId, counter: number, nowMs: number): VersionVector {
  return vvMerge(vv, [{ node, counter, updatedMs: nowMs }]);
}

export function vvCompare(a: VersionVector, b: VersionVector): Ordering {
  let aBigger = false;
  let bBigger = false;
  const nodes = new Set<NodeId>([...a.map((e) => e.node), ...b.map((e) => e.node)]);
  for (const node of nodes) {
    const x = vvGet(a, node);
    const y = vvGet(b, node);
    if (x > y) aBigger = true;
    if (y > x) bBigger = true;
  }
  if (aBigger && bBigger) return 'concurrent';
  if (aBigger) return 'after';
  if (bBigger) return 'before';
  return 'equal';
}

export function vvFromPairs(pairs: Array<[NodeId, number]>, updatedMs = 0): VersionVector {
  let vv: VersionVector = [];
  for (const [node, counter] of pairs) vv = vvMerge(vv, [{ node, counter, updatedMs }]);
  return vv;
}

/**
 * Drops the oldest entries while the vector is longer than maxEntries and the entry is older than
 * maxAgeMs, never an entry a live dot needs. Pruning can only make later writes look concurrent
 * (an extra sibling), never hide one — the same trade Riak makes.
 */
export function vvPrune(vv: VersionVector, keep: ReadonlySet<NodeId>, maxEntries: number, maxAgeMs: number, nowMs: number): VersionVector {
  if (vv.length <= maxEntries) return vv;
  const candidates = vv.filter((e) => !keep.has(e.node) && nowMs - e.updatedMs > maxAgeMs).sort((x, y) => x.updatedMs - y.updatedMs || (x.node < y.node ? -1 : 1));
  const drop = new Set<NodeId>();
  for (const e of candidates) {
    if (vv.length - drop.size <= maxEntries) break;
    drop.add(e.node);
  }
  return vv.filter((e) => !drop.has(e.node));
}
