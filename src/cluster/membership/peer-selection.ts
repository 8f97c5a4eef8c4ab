/**
 * Whom a node gossips with this round (Cassandra's rule, which is what keeps separately started
 * groups from staying apart):
 * 1. one random live peer;
 * 2. with probability unreachable / (live + 1), one random unreachable (down) member — so a healed
 *    partition or a restarted node is found even when nobody on its side initiates;
 * 3. a random seed when the live peer was not one, with probability seeds / (live + unreachable) —
 *    always when no live peer is known (a node starting alone) — so two groups that share only a
 *    seed meet there.
 */
import type { NodeId } from '../../core/member.js';
import type { Random } from '../runtime.js';

export interface PeerSets {
  live: readonly NodeId[];
  unreachable: readonly NodeId[];
  /** configured seeds other than this node */
  seeds: readonly NodeId[];
}

export function pickGossipTargets(sets: PeerSets, random: Random): NodeId[] {
  const { live, unreachable, seeds } = sets;
  const targets: NodeId[] = [];
  if (live.length > 0) targets.push(live[random.int(live.length)]);
  if (unreachable.length > 0 && random.next() < unreachable.length / (live.length + 1)) {
    targets.push(unreachable[random.int(unreachable.length)]);
  }
  if (seeds.length > 0 && (targets.length === 0 || !seeds.includes(targets[0]))) {
    const p = live.length === 0 ? 1 : seeds.length / (live.length + unreachable.length);
    if (random.next() < p) {
      const seed = seeds[random.int(seeds.length)];
      if (!targets.includes(seed)) targets.push(seed);
    }
  }
  return targets;
}

/** up to k distinct random picks from ids, none of them in `exclude` */
export function pickDistinct(ids: readonly NodeId[], k: number, random: Random, exclude: ReadonlySet<NodeId> = new Set()): NodeId[] {
  const pool = ids.filter((id) => !exclude.has(id));
  const out: NodeId[] = [];
  // partial Fisher–Yates: k draws, each uniform over what is left
  for (let i = 0; i < pool.length && out.length < k; i++) {
    const j = i + random.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
    out.push(pool[i]);
  }
  return out;
}
