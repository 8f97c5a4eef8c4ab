import { checkConvergence, type CheckOptions, type ReplicaSnapshot, type Violation } from './checkers.js';
import { FaultSchedule } from './fault-schedule.js';
import { History, type OpRecord } from './history.js';
import type { NodeKind } from './node-factories.js';
import {
  drive,
  faultsInjected,
  historyViolations,
  LSM_BATCH,
  LSM_PERIODIC,
  MAIN_FAULTS,
  nodeKindOf,
  QUIET_MS,
  readUntilOk,
  repairEverything,
  REPAIR_SETTLE_MS,
  REQUEST_TIMEOUT_MS,
  runResult,
  runWorkloadToEnd,
  scenarioRandom,
  type Scenario,
  type ScenarioOptions,
  type ScenarioResult,
} from './scenario-kit.js';
import { MEMORY_STORAGE, type StorageOptions } from './sim-disk.js';
import type { NetworkFaults, NetworkStats } from './sim-network.js';
import { SimCluster } from './sim-cluster.js';
import type { SeededRandom } from './seeded-random.js';
import { Workload, type WorkloadOptions } from './workload.js';
import { HEALING_DESCRIPTIONS, HEALING_SCENARIOS } from './healing-families.js';

export { formatFailure, replayCommand, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenario-kit.js';

const VALUE_KEYS = ['k0', 'k1', 'k2'];
const COUNTER_KEYS = ['ctr0', 'ctr1'];

const BASE_WORKLOAD: Omit<WorkloadOptions, 'mix' | 'keys'> = {
  clients: 4,
  opsPerClient: 8,
  thinkMeanMs: 30,
  rChoices: [1, 2, 2, 2, 3],
  wChoices: [1, 2, 2, 2, 3],
};

/** reads, blind writes (half of them reusing the client's last PUT context), read-modify-writes, read-deletes */
const VALUES_WORKLOAD: WorkloadOptions = {
  ...BASE_WORKLOAD,
  keys: VALUE_KEYS,
  mix: { get: 35, blindPut: 25, readModifyWrite: 30, readDelete: 10 },
  reusePutContextProbability: 0.5,
};

/** increments (a fifth of them negative) and reads of two counters; with deletes, read-DELs too */
function countersWorkload(deletes: boolean): WorkloadOptions {
  return {
    ...BASE_WORKLOAD,
    keys: [],
    counterKeys: COUNTER_KEYS,
    negativeDeltaProbability: 0.2,
    mix: { get: 0, blindPut: 0, readModifyWrite: 0, readDelete: 0, increment: 1, counterDelete: deletes ? 0.15 : 0 },
  };
}

/** values and counters (with deletes) side by side */
const MIXED_WORKLOAD: WorkloadOptions = {
  ...VALUES_WORKLOAD,
  opsPerClient: 10,
  counterKeys: COUNTER_KEYS,
  negativeDeltaProbability: 0.2,
  mix: { ...VALUES_WORKLOAD.mix, increment: 30, counterDelete: 6 },
};

/** Everything a scenario family body can use. */
interface RunContext {
  cluster: SimCluster;
  history: History;
  workload: Workload;
  schedule: FaultSchedule;
  rnd: SeededRandom;
  violations: Violation[];
  /** network counters and faults taken before the final graceful stop (whose closed connections are not injected faults) */
  finalStats?: { network: NetworkStats; faults: Record<string, number> };
}

/**
 * A scenario family: a cluster shape, a storage model, network faults, a workload and a fault plan.
 * Every family ends the same way (verify()): faults repaired, quorum reads of every key from every
 * node, a full read of every key at r = n on a clean network, the replicas compared, and every
 * checker run — each is sound under every fault the families inject, given the run's data-loss
 * events (see checkers.ts).
 */
interface Family {
  /** one line for --help and the README */
  description: string;
  nodeCount(rnd: SeededRandom): number;
  storage: StorageOptions;
  network: Partial<NetworkFaults>;
  workload: WorkloadOptions;
  /** schedules cluster faults (on virtual time from the start) before the workload starts */
  faults?(schedule: FaultSchedule, rnd: SeededRandom, cluster: SimCluster): void;
  /** replaces "run the workload to completion" */
  body?(ctx: RunContext): Promise<void>;
}

const threeToFive = (rnd: SeededRandom): number => rnd.intBetween(3, 5);
const five = (): number => 5;

/** 1..max crashes at random times in the workload's first 1.5 s, each down for 0.1–3 s */
function randomCrashes(schedule: FaultSchedule, rnd: SeededRandom, max: number, replaceDiskProbability = 0): void {
  const count = rnd.intBetween(1, max);
  for (let i = 0; i < count; i++) schedule.crash(rnd.intBetween(20, 1500), rnd.intBetween(100, 3000), schedule.pickNode(), rnd.chance(replaceDiskProbability));
}

/** every node's clock off by up to ±60 s with a drift of up to ±2000 ppm (some nodes exact) */
function randomClockSkews(cluster: SimCluster, rnd: SeededRandom): void {
  for (const id of cluster.nodeIds) {
    if (rnd.chance(0.6)) cluster.setClockSkew(id, rnd.intBetween(-60_000, 60_000), rnd.intBetween(-2000, 2000));
  }
}

const FAMILIES: Readonly<Record<string, Family>> = {
  main: {
    description: '3–5 nodes, memory engine, 5% loss, 2% duplication, reordering; values with read contexts and reused PUT contexts',
    nodeCount: threeToFive,
    storage: MEMORY_STORAGE,
    network: MAIN_FAULTS,
    workload: VALUES_WORKLOAD,
  },
  siblings: {
    description: '2–4 concurrent blind writes through different nodes become siblings; a write with the merged context collapses them',
    nodeCount: threeToFive,
    storage: MEMORY_STORAGE,
    network: MAIN_FAULTS,
    workload: { ...VALUES_WORKLOAD, keys: ['hot'] },
    body: siblingsBody,
  },
  counters: {
    description: 'PN-counters: increments (some negative) and reads through random nodes with random r/w',
    nodeCount: threeToFive,
    storage: MEMORY_STORAGE,
    network: MAIN_FAULTS,
    workload: countersWorkload(false),
  },
  'counters-delete': {
    description: 'PN-counters with DEL (a read\'s context) between increments; half the runs cut a minority off for a while',
    nodeCount: threeToFive,
    storage: MEMORY_STORAGE,
    network: MAIN_FAULTS,
    workload: countersWorkload(true),
    faults: (s, rnd) => {
      if (rnd.chance(0.5)) s.partition(rnd.intBetween(20, 300), rnd.intBetween(100, 2000), s.minority());
    },
  },
  'crash-restart': {
    description: '5 nodes, memory engine (durable): one or two nodes crash and restart during a mixed value/counter workload',
    nodeCount: five,
    storage: MEMORY_STORAGE,
    network: MAIN_FAULTS,
    workload: MIXED_WORKLOAD,
    faults: (s, rnd) => randomCrashes(s, rnd, 2),
  },
  partition: {
    description: '5 nodes: a random minority is cut off for 0.1–3 s during a mixed workload',
    nodeCount: five,
    storage: MEMORY_STORAGE,
    network: MAIN_FAULTS,
    workload: MIXED_WORKLOAD,
    faults: (s, rnd) => s.partition(rnd.intBetween(20, 300), rnd.intBetween(100, 3000), s.minority()),
  },
  'clock-skew': {
    description: 'nodes\' clocks off by up to ±60 s with drift, one clock stepped by up to ±60 s mid-run, one graceful restart',
    nodeCount: threeToFive,
    storage: MEMORY_STORAGE,
    network: MAIN_FAULTS,
    workload: MIXED_WORKLOAD,
    faults: (s, rnd, cluster) => {
      randomClockSkews(cluster, rnd);
      s.clockStep(rnd.intBetween(50, 800), s.pickNode(), rnd.intBetween(-60_000, 60_000), rnd.intBetween(-2000, 2000));
      s.gracefulRestart(rnd.intBetween(100, 1000));
    },
  },
  resets: {
    description: '5 nodes (so writes get forwarded): 10% of delivered requests have their connection reset (applied, reply lost)',
    nodeCount: five,
    storage: MEMORY_STORAGE,
    network: { ...MAIN_FAULTS, resetProbability: 0.1 },
    workload: MIXED_WORKLOAD,
  },
  'lsm-batch': {
    description: 'LSM engine on SimFS, batch sync (acknowledged = fsynced): crashes and a graceful restart during a mixed workload',
    nodeCount: threeToFive,
    storage: LSM_BATCH,
    network: MAIN_FAULTS,
    workload: MIXED_WORKLOAD,
    faults: (s, rnd) => {
      randomCrashes(s, rnd, 2);
      if (rnd.chance(0.5)) s.gracefulRestart(rnd.intBetween(100, 1500));
    },
  },
  'lsm-periodic': {
    description: 'LSM engine on SimFS, periodic sync (10 ms): crashes lose the last acknowledged writes of the crashed node',
    nodeCount: threeToFive,
    storage: LSM_PERIODIC,
    network: MAIN_FAULTS,
    workload: MIXED_WORKLOAD,
    faults: (s, rnd) => randomCrashes(s, rnd, 3),
  },
  'replaced-disk': {
    description: 'LSM engine, batch sync: a node crashes and comes back under the same id on an empty disk (no data, no identity record)',
    nodeCount: threeToFive,
    storage: LSM_BATCH,
    network: MAIN_FAULTS,
    workload: MIXED_WORKLOAD,
    faults: (s, rnd) => {
      s.crash(rnd.intBetween(20, 800), rnd.intBetween(100, 2000), s.pickNode(), true);
      if (rnd.chance(0.5)) s.crash(rnd.intBetween(900, 2500), rnd.intBetween(100, 1000));
    },
  },
  'counters-crash': {
    description: 'PN-counters with DEL on the LSM engine in periodic sync: nodes crash (losing un-fsynced increments) mid-run',
    nodeCount: threeToFive,
    storage: LSM_PERIODIC,
    network: MAIN_FAULTS,
    workload: { ...countersWorkload(true), opsPerClient: 12 },
    faults: (s, rnd) => randomCrashes(s, rnd, 3),
  },
  chaos: {
    description: 'everything at once: LSM periodic, resets, skewed clocks, crashes (some replacing the disk), partitions, graceful restarts, two nodes down at a time',
    nodeCount: five,
    storage: LSM_PERIODIC,
    network: { ...MAIN_FAULTS, resetProbability: 0.05 },
    workload: { ...MIXED_WORKLOAD, opsPerClient: 14 },
    faults: (s, rnd, cluster) => {
      s.maxDown = 2;
      randomClockSkews(cluster, rnd);
      randomCrashes(s, rnd, 3, 0.3);
      s.partition(rnd.intBetween(20, 1500), rnd.intBetween(100, 2000), s.minority());
      s.gracefulRestart(rnd.intBetween(100, 2000));
    },
  },
};

async function runFamily(name: string, family: Family, seed: number, options: ScenarioOptions): Promise<ScenarioResult> {
  const rnd = scenarioRandom(seed);
  const kind = nodeKindOf(options);
  const cluster = await SimCluster.create({
    seed,
    nodeCount: family.nodeCount(rnd),
    createNode: options.createNode ?? kind.create,
    config: { n: 3, r: 2, w: 2, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    faults: { ...family.network, ...options.faults },
    storage: family.storage,
    wrapEngine: options.wrapEngine,
    wrapTransport: options.wrapTransport,
    traceSink: options.traceSink,
  });
  const history = new History(cluster.sim.clock, cluster.sim);
  const workload = new Workload(cluster, history, cluster.sim.random.fork('workload'), family.workload);
  const schedule = new FaultSchedule(cluster, rnd);
  const ctx: RunContext = { cluster, history, workload, schedule, rnd, violations: [] };
  family.faults?.(schedule, rnd, cluster);
  if (family.body) await family.body(ctx);
  else await runWorkload(ctx);
  await verify(ctx, kind, [...family.workload.keys, ...(family.workload.counterKeys ?? [])]);
  return runResult({ scenario: name, seed, options, cluster, history, violations: ctx.violations }, ctx.finalStats);
}

function runWorkload({ cluster, workload, violations }: RunContext): Promise<void> {
  return runWorkloadToEnd(cluster, workload, violations);
}

/**
 * The end of every run: wait for the fault plan's repairs, heal the network, let in-flight work
 * land, read every key at quorum from every node, then check convergence on a clean network, stop
 * every node gracefully and run the history checkers.
 */
async function verify(ctx: RunContext, kind: NodeKind, keys: readonly string[]): Promise<void> {
  const { cluster, workload, schedule, history, violations } = ctx;
  await repairEverything(cluster, schedule, violations);
  await cluster.sim.runFor(QUIET_MS);
  await finalReads(cluster, workload, cluster.sim.random.fork('verifier'), keys);
  violations.push(...(await convergence(cluster, workload, kind, keys)));
  ctx.finalStats = { network: { ...cluster.network.stats }, faults: faultsInjected(cluster) };
  await cluster.stopAll();
  const ops = history.ops;
  const checkOptions: CheckOptions = {
    n: cluster.config.n,
    dataLoss: cluster.dataLoss,
    replicasOf: (key) => kind.placement(new TextEncoder().encode(key), cluster.members, cluster.config).replicas,
  };
  violations.push(...historyViolations(ops, checkOptions, workload.crashedOpIds));
}

/** after the workload: a quorum read of every key from every live node, retried on error */
async function finalReads(cluster: SimCluster, workload: Workload, rnd: SeededRandom, keys: readonly string[]): Promise<void> {
  for (const key of keys) {
    for (const node of cluster.upNodeIds()) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const op = await drive(cluster, workload.get('verifier', rnd, key, { r: 2, node }));
        if (op?.outcome === 'ok') break;
      }
    }
  }
}

/**
 * On a clean network with every node up, reads every key at r = n (read repair then brings every
 * stale replica the merged object), lets the repairs land, and compares what each replica stores.
 */
async function convergence(cluster: SimCluster, workload: Workload, kind: NodeKind, keys: readonly string[]): Promise<Violation[]> {
  const down = cluster.nodeIds.filter((id) => !cluster.isUp(id));
  if (down.length > 0) return [{ checker: 'convergence', message: `cannot compare replicas: ${down.join(', ')} did not come back up`, opIds: [] }];
  cluster.network.setFaults({ dropProbability: 0, duplicateProbability: 0, resetProbability: 0 });
  const rnd = cluster.sim.random.fork('converger');
  const violations: Violation[] = [];
  const n = cluster.config.n;
  for (const key of keys) {
    let op: OpRecord | undefined;
    for (let attempt = 0; attempt < 5 && op?.outcome !== 'ok'; attempt++) op = await drive(cluster, workload.get('converger', rnd, key, { r: n }));
    if (op?.outcome !== 'ok') violations.push({ checker: 'convergence', message: `a full read of ${JSON.stringify(key)} at r=${n} failed 5 times on a clean network with every node up`, opIds: op ? [op.id] : [] });
  }
  await cluster.sim.runFor(REPAIR_SETTLE_MS);
  const snapshots: ReplicaSnapshot[] = [];
  const encoder = new TextEncoder();
  for (const key of keys) {
    const { partition, replicas } = kind.placement(encoder.encode(key), cluster.members, cluster.config);
    const states: ReplicaSnapshot['replicas'] = [];
    for (const node of replicas) {
      const bytes = await cluster.engine(node).get(partition, encoder.encode(key));
      states.push({ node, state: bytes === undefined ? undefined : kind.describeStored(bytes) });
    }
    snapshots.push({ key, replicas: states });
  }
  return [...violations, ...checkConvergence(snapshots)];
}

/**
 * Concurrent blind writes become siblings, and a write with the merged context collapses them:
 * 2–4 clients put the same key through different nodes within a few ms; a quorum read must return
 * every acknowledged value; a put with that read's context must leave exactly its own value for the
 * next quorum read (checked by the general rules, plus explicit sibling-count checks).
 */
async function siblingsBody({ cluster, workload, rnd, violations }: RunContext): Promise<void> {
  const nodeCount = cluster.nodeIds.length;
  const writers = rnd.intBetween(2, 4);
  const blind: Array<Promise<OpRecord | undefined>> = [];
  for (let i = 0; i < writers; i++) {
    const client = `s${i + 1}`;
    const node = cluster.nodeIds[i % nodeCount];
    const startAfterMs = rnd.int(3);
    blind.push(
      new Promise<void>((resolve) => cluster.sim.clock.setTimer(startAfterMs, resolve)).then(() =>
        workload.put(client, rnd, 'hot', `${client}-w1`, undefined, { w: 2, node }),
      ),
    );
  }
  const blindOps = (await drive(cluster, Promise.all(blind))) ?? [];
  await cluster.sim.runFor(200);
  const acked = blindOps.filter((o) => o?.outcome === 'ok').map((o) => o!.value!);
  const siblingRead = await readUntilOk(cluster, workload, rnd, 'hot', 2);
  if (siblingRead && acked.length >= 2 && siblingRead.readValues!.length < acked.length) {
    violations.push({
      checker: 'siblings',
      message: `${acked.length} concurrent writes were acknowledged (${acked.join(', ')}) but a later quorum read returned ${JSON.stringify(siblingRead.readValues)}`,
      opIds: [siblingRead.id],
    });
  }
  if (!siblingRead) return;
  let merged: OpRecord | undefined;
  let attempts = 0;
  while (attempts < 3 && merged?.outcome !== 'ok') {
    attempts++;
    merged = await drive(cluster, workload.put('merger', rnd, 'hot', `merged-w${attempts}`, siblingRead, { w: 2 }));
  }
  const after = await readUntilOk(cluster, workload, rnd, 'hot', 2);
  // A failed attempt may still have landed on some replica, concurrent with the retry: then two
  // versions are legitimate, so the exact-one check needs every write to have been acknowledged.
  const everyWriteAcked = blindOps.every((o) => o?.outcome === 'ok') && merged?.outcome === 'ok' && attempts === 1;
  if (after && everyWriteAcked && (after.readValues!.length !== 1 || after.readValues![0] !== merged!.value)) {
    violations.push({
      checker: 'siblings',
      message: `a write with the merged context (${merged!.value}) should leave one version, but the next quorum read returned ${JSON.stringify(after.readValues)}`,
      opIds: [merged!.id, after.id],
    });
  }
}

/** every scenario family by name: the classic ones above, then the membership and self-healing ones */
export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  ...Object.fromEntries(Object.entries(FAMILIES).map(([name, family]) => [name, (seed: number, options: ScenarioOptions) => runFamily(name, family, seed, options)])),
  ...HEALING_SCENARIOS,
};

/** one line per family, for --help and the README */
export const SCENARIO_DESCRIPTIONS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(FAMILIES).map(([name, f]) => [name, f.description])),
  ...HEALING_DESCRIPTIONS,
};

/** classic families that run the LSM engine on SimFS (slower per seed) */
export const LSM_SCENARIOS: readonly string[] = Object.entries(FAMILIES)
  .filter(([, f]) => f.storage.engine === 'lsm')
  .map(([name]) => name);

/** the membership and self-healing families (healing-families.ts): gossip membership, ClusterNode only */
export const HEALING_SCENARIO_NAMES: readonly string[] = Object.keys(HEALING_SCENARIOS);

/** whether a family can run a node kind: the reference node has no membership, so it runs only the classic families */
export function scenarioRuns(name: string, nodeKind: string): boolean {
  return nodeKind === 'cluster' || !HEALING_SCENARIO_NAMES.includes(name);
}
