/**
 * Sorts a flush's entries by internal key (partition, then key bytes) without a JavaScript comparator
 * call per comparison: each entry becomes one double — partition rank, then as many leading key
 * bytes as fit, then the entry's index — and a Float64Array sorts natively. Entries whose leading
 * bytes tie are then put in order by comparing their key strings: short runs for keys that differ
 * early; keys that share long prefixes fall back to a comparator sort of their run, no worse than
 * sorting them that way from the start.
 */
import { internalKeyPartition } from './internal-key.js';

const MANTISSA_BITS = 53;

/**
 * The order of entries 0..n-1 by (partitions[i], keyHeads[i]) and then keys[i]: keyHeads[i] is the
 * first six key bytes as a big-endian number (missing bytes as 0), keys[i] the whole internal key.
 * Keys must be distinct.
 */
export function sortedOrder(keys: readonly string[], partitions: Float64Array, keyHeads: Float64Array): Uint32Array {
  const n = keys.length;
  const order = new Uint32Array(n);
  if (n === 0) return order;
  const distinct = Float64Array.from(new Set(partitions)).sort();
  const rank = new Map<number, number>();
  for (let r = 0; r < distinct.length; r++) rank.set(distinct[r], r);
  const indexBits = bitsFor(n);
  const rankBits = bitsFor(distinct.length);
  if (indexBits + rankBits > MANTISSA_BITS) return comparatorOrder(keys);
  const headBits = Math.min(48, MANTISSA_BITS - indexBits - rankBits);
  const indexScale = 2 ** indexBits;
  const headScale = 2 ** headBits;
  const headShift = 2 ** (48 - headBits);
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const head = headBits > 0 ? Math.floor(keyHeads[i] / headShift) : 0;
    packed[i] = (rank.get(partitions[i])! * headScale + head) * indexScale + i;
  }
  packed.sort();
  for (let j = 0; j < n; j++) order[j] = packed[j] % indexScale;
  // runs with the same (partition, leading bytes): order them by the whole key
  let runStart = 0;
  for (let j = 1; j <= n; j++) {
    if (j < n && Math.floor(packed[j] / indexScale) === Math.floor(packed[runStart] / indexScale)) continue;
    if (j - runStart > 1) sortRun(order, runStart, j, keys);
    runStart = j;
  }
  return order;
}

/** sortedOrder's partitions and keyHeads, read from internal-key strings (internal-key.ts). */
export function internalKeyHeads(keys: readonly string[]): [Float64Array, Float64Array] {
  const partitions = new Float64Array(keys.length);
  const heads = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    partitions[i] = internalKeyPartition(k);
    let head = 0;
    for (let j = 4; j < 10; j++) head = head * 256 + (j < k.length ? k.charCodeAt(j) : 0);
    heads[i] = head;
  }
  return [partitions, heads];
}

function bitsFor(count: number): number {
  let bits = 0;
  while (2 ** bits < count) bits++;
  return bits;
}

function byKey(keys: readonly string[]): (a: number, b: number) => number {
  return (a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0);
}

function comparatorOrder(keys: readonly string[]): Uint32Array {
  const order = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) order[i] = i;
  return order.sort(byKey(keys));
}

const INSERTION_SORT_MAX = 16;

/** Sorts order[from, to) by key: insertion sort for short runs, else a comparator sort. */
function sortRun(order: Uint32Array, from: number, to: number, keys: readonly string[]): void {
  if (to - from > INSERTION_SORT_MAX) {
    order.subarray(from, to).sort(byKey(keys));
    return;
  }
  for (let j = from + 1; j < to; j++) {
    const v = order[j];
    const k = keys[v];
    let p = j - 1;
    while (p >= from && keys[order[p]] > k) {
      order[p + 1] = order[p];
      p--;
    }
    order[p + 1] = v;
  }
}
