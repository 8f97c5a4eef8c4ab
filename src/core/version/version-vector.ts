import type { NodeId } from '../member.js';

/**
 * A write's identity: the actor that minted it and that actor's per-key counter. An actor is a node
 * id plus an incarnation tag (`n1#2k3x9qa`), never reused with another history.
 */
export interface Dot {
  node: NodeId;
  counter: number;
}

/** One entry of a version vector: `node: c` means "every dot (node, 1..c) was seen". */
export interface VvEntry {
  node: NodeId;
  counter: number;
}

/** Sorted by actor, one entry per actor. */
export type VersionVector = VvEntry[];

export type Ordering = 'before' | 'after' | 'equal' | 'concurrent';

export function vvGet(vv: VersionVector, node: NodeId): number {
  for (const e of vv) if (e.node === node) return e.counter;
  return 0;
}

export function vvCovers(vv: VersionVector, dot: Dot): boolean {
  return vvGet(vv, dot.node) >= dot.counter;
}

/** Pointwise maximum. */
export function vvMerge(a: VersionVector, b: VersionVector): VersionVector {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: VersionVector = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.node < y.node)) {
      out.push(x);
      i++;
    } else if (x === undefined || y.node < x.node) {
      out.push(y);
      j++;
    } else {
      out.push(x.counter >= y.counter ? x : y);
      i++;
      j++;
    }
  }
  return out;
}

/** Returns vv with node's entry raised to counter (never lowered). */
export function vvAdvance(vv: VersionVector, node: NodeId, counter: number): VersionVector {
  return vvMerge(vv, [{ node, counter }]);
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

export function vvFromPairs(pairs: Array<[NodeId, number]>): VersionVector {
  let vv: VersionVector = [];
  for (const [node, counter] of pairs) vv = vvMerge(vv, [{ node, counter }]);
  return vv;
}
