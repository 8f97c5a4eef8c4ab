import { sweepClusterNode, type Exercised } from './sweep-kit.js';

/**
 * The membership and self-healing families (src/sim/healing-families.ts) against the production node
 * with gossip membership, every checker on, 200 seeds each; and a check over each sweep that the
 * family did what it is named for (joins, leaves and removes committed, hints stored and handed
 * back, hints dropped and anti-entropy repairing, tombstones reaped, the doomstone set up). Two test
 * files run them side by side. Longer run: SIM_SEEDS=2000 node --test
 * dist/test/sim/healing-membership-scenarios.test.js, or `npm run sim -- --runs 1000 --scenario membership`.
 */
const SEEDS = Number(process.env.SIM_SEEDS ?? 0) || 200;

const need =
  (what: Record<string, (t: Parameters<Exercised>[0]) => number>): Exercised =>
  (totals) => {
    const zero = Object.entries(what).filter(([, count]) => !(count(totals) > 0));
    return zero.length ? `none of: ${zero.map(([k]) => k).join(', ')}` : undefined;
  };

export const EXERCISED: Record<string, Exercised> = {
  membership: need({
    joins: (t) => t.faults.join,
    leaves: (t) => t.faults.leave,
    removes: (t) => t.faults.remove,
    'partitions transferred': (t) => t.observed['partitions-transferred'],
    'partitions dropped': (t) => t.observed['partitions-dropped'],
  }),
  'hinted-handoff': need({ 'hints delivered': (t) => t.observed['hints-delivered'] }),
  'aae-rebuild': need({ 'replaced disks': (t) => t.faults['replaced-disk'], 'hints dropped': (t) => t.observed['hints-dropped'], 'keys exchanged': (t) => t.observed['keys-exchanged'] }),
  'partition-heal': need({ partitions: (t) => t.faults.partition, 'hints delivered': (t) => t.observed['hints-delivered'], 'keys exchanged': (t) => t.observed['keys-exchanged'] }),
  tombstones: need({ 'tombstones reaped': (t) => t.observed['tombstones-reaped'] }),
  // every seed must set the doomstone up: the tombstone reaped while its stale hint was held back
  doomstone: need({
    'the tombstone reaped in every seed': (t) => (t.observed['doomstone-reaped'] === t.seeds ? 1 : 0),
    'the stale hint held in every seed': (t) => (t.observed['doomstone-hint-held'] === t.seeds ? 1 : 0),
  }),
};

/** sweeps the named families, 200 seeds each (SIM_SEEDS to change) */
export function sweepHealingFamilies(names: readonly string[]): void {
  sweepClusterNode(names, SEEDS, 'gossip membership', EXERCISED);
}
