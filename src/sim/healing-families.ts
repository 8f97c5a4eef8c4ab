/**
 * The membership and self-healing scenario families (issues 9 and 10): ClusterNode with gossip
 * membership on the simulated network, each family driving one mechanism under the faults that
 * would break it, every run ending with the checks of healing-run.ts (ring agreed, ownership matching
 * it, hints drained, replicas identical without a read, then the history checkers).
 */
import { decodeObject } from '../cluster/object-codec.js';
import type { Violation } from './checkers.js';
import { aaeConvergence, checkOptions, runHealingFamily, storedValues, type HealingContext, type HealingFamily } from './healing-run.js';
import { LSM_BATCH, MAIN_FAULTS, type Scenario } from './scenario-kit.js';
import { MEMORY_STORAGE } from './sim-disk.js';
import type { SeededRandom } from './seeded-random.js';
import { checkNoResurrection, checkTombstonesReaped, type RipeTombstone } from './state-checkers.js';
import { COUNTER_KEYS, LOSSLESS, mixedLoad, VALUE_KEYS, writeOnlyLoad } from './healing-workloads.js';
import { hintedHandoffBody } from './hinted-handoff-family.js';
import { doomstoneBody } from './doomstone-family.js';
import { membershipBody } from './membership-family.js';

/** a short drain grace where tombstones are reaped: the reaper waits for the ring to be unchanged for twice it */
const REAPING_DRAIN_GRACE_MS = 500;

const fourOrFive = (rnd: SeededRandom): number => rnd.intBetween(4, 5);

const FAMILIES: Readonly<Record<string, HealingFamily>> = {
  membership: {
    description:
      'gossip membership, 4–5 nodes: 1–3 joins, leaves and removes under a steady mixed load (half of it strict), crashes during the transfers (the claimant too), 5% loss',
    nodeCount: fourOrFive,
    storage: MEMORY_STORAGE,
    network: MAIN_FAULTS,
    valueKeys: VALUE_KEYS,
    counterKeys: COUNTER_KEYS,
    convergeWithinMs: aaeConvergence,
    body: membershipBody,
  },
  'hinted-handoff': {
    description:
      'a node crashes between writes; sloppy writes reach W through stand-ins (and must); it returns; hints alone (no anti-entropy, no read, no loss) make every replica identical; LSM batch',
    nodeCount: (rnd) => rnd.intBetween(3, 5),
    storage: LSM_BATCH,
    network: LOSSLESS,
    config: { aaeEnabled: false },
    valueKeys: VALUE_KEYS,
    counterKeys: COUNTER_KEYS,
    // the target seen up (a gossip round), a sweep (1 s), the replay at 1,000 hints/s
    convergeWithinMs: () => 5000,
    body: hintedHandoffBody,
  },
  'aae-rebuild': {
    description:
      'a node comes back on an empty disk (mostly once the writes are over) while hints are dropped (100 ms window, 1-byte bound): anti-entropy alone rebuilds it, no read; LSM batch, 5% loss',
    nodeCount: (rnd) => rnd.intBetween(3, 5),
    storage: LSM_BATCH,
    network: MAIN_FAULTS,
    config: { hintWindowMs: 100, hintMaxBytesPerTarget: 1 },
    valueKeys: VALUE_KEYS,
    counterKeys: COUNTER_KEYS,
    convergeWithinMs: aaeConvergence,
    body: aaeRebuildBody,
  },
  'partition-heal': {
    description: '5 nodes: a minority cut off for 4–8 s (long enough to be marked down: sloppy writes, hints on both sides) during a mixed load; healed, the replicas converge without a read',
    nodeCount: () => 5,
    storage: MEMORY_STORAGE,
    network: MAIN_FAULTS,
    valueKeys: VALUE_KEYS,
    counterKeys: COUNTER_KEYS,
    convergeWithinMs: aaeConvergence,
    body: async (ctx) => {
      const { schedule, rnd } = ctx;
      // a silent node is marked down about 3.5 s after its last heartbeat (README, membership)
      schedule.partition(rnd.intBetween(200, 1000), rnd.intBetween(4000, 8000), schedule.minority());
      if (rnd.chance(0.3)) schedule.crash(rnd.intBetween(200, 5000), rnd.intBetween(200, 2000));
      await ctx.runWorkload(ctx.workload(mixedLoad('c', 30, 150)));
    },
  },
  tombstones: {
    description:
      'deletes, re-writes and reaping with a 2 s grace (hint window 0.8 s) under crashes and a partition: nothing deleted comes back, in reads or in storage; ripe tombstones are reaped once it is safe',
    nodeCount: fourOrFive,
    storage: LSM_BATCH,
    network: MAIN_FAULTS,
    config: { tombstoneGraceMs: 2000, hintWindowMs: 800, reapIntervalMs: 400 },
    membership: { drainGraceMs: REAPING_DRAIN_GRACE_MS },
    valueKeys: ['t0', 't1', 't2'],
    counterKeys: [],
    convergeWithinMs: aaeConvergence,
    body: async (ctx) => {
      const { schedule, rnd } = ctx;
      const count = rnd.intBetween(1, 2);
      for (let i = 0; i < count; i++) schedule.crash(rnd.intBetween(100, 4000), rnd.intBetween(100, 3000));
      if (rnd.chance(0.3)) schedule.partition(rnd.intBetween(100, 3000), rnd.intBetween(500, 4000), schedule.minority());
      const load = mixedLoad('c', 30, 150, ['t0', 't1', 't2']);
      await ctx.runWorkload(ctx.workload({ ...load, counterKeys: [], mix: { get: 20, blindPut: 20, readModifyWrite: 20, readDelete: 25, putDelete: 10 } }));
    },
    checks: tombstoneChecks,
  },
  doomstone: {
    description:
      "Riak's doomstone: a stand-in's hint holding a delete is held in the network while the primaries reap that tombstone and a new write arrives; handed back late, it must not destroy the new write",
    nodeCount: fourOrFive,
    storage: LSM_BATCH,
    network: LOSSLESS,
    config: { tombstoneGraceMs: 3000, hintWindowMs: 1500, reapIntervalMs: 300, aaeExchangePeriodMs: 2000 },
    membership: { drainGraceMs: REAPING_DRAIN_GRACE_MS },
    valueKeys: ['doom', 'k0', 'k1'],
    counterKeys: [],
    convergeWithinMs: aaeConvergence,
    body: doomstoneBody,
    checks: async (ctx, converged) => checkNoResurrection(ctx.history.ops, await storedValues(ctx.cluster, [...converged]), checkOptions(ctx.cluster)),
  },
};

/**
 * A node loses its disk during sloppy writes whose hints are dropped. Most runs bring it back only
 * after the writes are over, so every key it holds must come back by anti-entropy (a later write of
 * a key would carry the key's whole object to it); the others bring it back mid-load. Sometimes
 * another node crashes too (its disk kept).
 */
async function aaeRebuildBody(ctx: HealingContext): Promise<void> {
  const { cluster, schedule, rnd } = ctx;
  schedule.maxDown = 2;
  const victim = schedule.pickNode();
  const afterLoad = rnd.chance(0.7);
  const crashAtMs = rnd.intBetween(100, 800);
  if (afterLoad) {
    schedule.at(crashAtMs, crashAtMs, async () => {
      cluster.crash(victim);
      cluster.replaceDisk(victim);
    });
  } else schedule.crash(crashAtMs, rnd.intBetween(1500, 3500), victim, true);
  if (rnd.chance(0.5)) schedule.crash(rnd.intBetween(600, 3000), rnd.intBetween(200, 1500), rnd.pick(cluster.nodeIds.filter((id) => id !== victim)));
  await ctx.runWorkload(ctx.workload(writeOnlyLoad('c', 30, 80)));
  if (afterLoad) {
    await cluster.sim.runUntil(() => schedule.repaired, 10_000);
    await cluster.restart(victim);
  }
}

/** nothing deleted lurks in storage; then, on the stable converged cluster, every ripe tombstone is reaped */
async function tombstoneChecks(ctx: HealingContext, converged: ReadonlySet<string>): Promise<Violation[]> {
  const { cluster } = ctx;
  const violations = checkNoResurrection(ctx.history.ops, await storedValues(cluster, [...converged]), checkOptions(cluster));
  // the reaper needs the ring unchanged for twice the drain grace (a restart counts as a change),
  // then a pass of each node's timer; an exchange that runs mid-reap can hand a tombstone back to a
  // replica that had just reaped it, and only the next exchange period spreads it for another pass
  await cluster.sim.runFor(2 * REAPING_DRAIN_GRACE_MS);
  const limit = cluster.sim.elapsedMs + 2.5 * cluster.config.aaeExchangePeriodMs + 3 * cluster.config.reapIntervalMs;
  let ripe = await ripeTombstones(ctx);
  while (ripe.length > 0 && cluster.sim.elapsedMs < limit) {
    await cluster.sim.runFor(100);
    ripe = await ripeTombstones(ctx);
  }
  return [...violations, ...checkTombstonesReaped(ripe)];
}

/** tombstones past their grace (on the node's own clock) still stored by a live member */
async function ripeTombstones(ctx: HealingContext): Promise<RipeTombstone[]> {
  const { cluster } = ctx;
  const ripe: RipeTombstone[] = [];
  for (const id of cluster.memberIds().filter((m) => cluster.isUp(m))) {
    const now = cluster.nodeNowMs(id);
    for await (const e of cluster.engine(id).scan(0, cluster.config.partitions)) {
      const obj = decodeObject(e.value, 'engine');
      if (obj.siblings.length === 0 && obj.deletedAtMs !== undefined && obj.deletedAtMs <= now - cluster.config.tombstoneGraceMs) {
        ripe.push({ node: id, key: new TextDecoder().decode(e.key), deletedAgoMs: now - obj.deletedAtMs });
      }
    }
  }
  return ripe;
}

/** the membership and self-healing families by name */
export const HEALING_SCENARIOS: Readonly<Record<string, Scenario>> = Object.fromEntries(
  Object.entries(FAMILIES).map(([name, family]) => [name, (seed: number, options) => runHealingFamily(name, family, seed, options)]),
);

export const HEALING_DESCRIPTIONS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(FAMILIES).map(([name, f]) => [name, f.description]));
