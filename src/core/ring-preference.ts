/**
 * Preference lists: which nodes hold a partition's replicas, and who stands in when they are down.
 * Walk clockwise from the partition collecting distinct physical nodes; pick primaries from zones
 * not yet used first; everything else, in walk order, is a fallback for sloppy quorum.
 */
import type { NodeId } from './member.js';

export interface PreferenceList {
  /** the min(n, nodeCount) replicas for the partition, in clockwise-walk order; the first is its owner */
  readonly primaries: readonly NodeId[];
  /** every other node, in clockwise-walk order: the stand-ins sloppy quorum takes, first to last */
  readonly fallbacks: readonly NodeId[];
}

/**
 * Distinct node indexes in the order met walking clockwise from `partition`, followed by nodes that
 * own no partition at all (possible only with more nodes than partitions), in index order.
 */
export function clockwiseNodeOrder(owners: Int32Array, nodeCount: number, partition: number): number[] {
  const q = owners.length;
  const seen = new Uint8Array(nodeCount);
  const order: number[] = [];
  for (let step = 0; step < q && order.length < nodeCount; step++) {
    const owner = owners[(partition + step) & (q - 1)];
    if (!seen[owner]) {
      seen[owner] = 1;
      order.push(owner);
    }
  }
  for (let i = 0; i < nodeCount && order.length < nodeCount; i++) if (!seen[i]) order.push(i);
  return order;
}

/**
 * Splits a clockwise node order into primaries and fallbacks. When zones are in play, the first
 * pass takes only nodes whose zone is not yet among the primaries; if that yields fewer than n,
 * the rest are filled with distinct nodes in walk order. `zoneKeys[i]` is node i's zone, or a key
 * unique to the node when it has none (a zone-less node counts as a zone of its own).
 */
export function splitPreference(
  order: readonly number[],
  n: number,
  ids: readonly NodeId[],
  zoneKeys: readonly string[] | undefined,
): PreferenceList {
  const want = Math.min(n, order.length);
  const chosen = new Uint8Array(order.length);
  let picked = 0;
  if (zoneKeys === undefined) {
    for (let k = 0; k < want; k++) chosen[k] = 1;
    picked = want;
  } else {
    const usedZones = new Set<string>();
    for (let k = 0; k < order.length && picked < want; k++) {
      const zone = zoneKeys[order[k]];
      if (usedZones.has(zone)) continue;
      usedZones.add(zone);
      chosen[k] = 1;
      picked++;
    }
    for (let k = 0; k < order.length && picked < want; k++) {
      if (chosen[k]) continue;
      chosen[k] = 1;
      picked++;
    }
  }
  const primaries: NodeId[] = [];
  const fallbacks: NodeId[] = [];
  for (let k = 0; k < order.length; k++) (chosen[k] ? primaries : fallbacks).push(ids[order[k]]);
  return Object.freeze({ primaries: Object.freeze(primaries), fallbacks: Object.freeze(fallbacks) });
}
