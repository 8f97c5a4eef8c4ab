/**
 * How the membership and self-healing families run and end. Their nodes run gossip membership (so
 * failure detection, ring changes with transfers, sloppy quorums with hinted handoff, anti-entropy
 * and tombstone reaping are all live), their placement is the ring the nodes agree on, and every run
 * ends the same way (end()): faults repaired on a clean network, then — with no read — the ring must
 * settle, partitions handed away must be dropped, hints must drain and the replicas must become
 * identical; only then are keys read (at r = n from every member) and the history checked.
 */
import type { ClusterConfig } from '../cluster/cluster-config.js';
import { ClusterNode } from '../cluster/node.js';
import { HINT_PARTITION } from '../cluster/hints/hint-store.js';
import { partitionOf } from '../core/hash.js';
import type { NodeId } from '../core/member.js';
import { checkConvergence, type CheckOptions, type ReplicaSnapshot, type Violation } from './checkers.js';
import { FaultSchedule } from './fault-schedule.js';
import { History } from './history.js';
import type { NodeKind } from './node-factories.js';
import {
  drive,
  faultsInjected,
  historyViolations,
  nodeKindOf,
  repairEverything,
  runResult,
  runWorkloadToEnd,
  scenarioRandom,
  type ScenarioOptions,
  type ScenarioResult,
} from './scenario-kit.js';
import { SIM_DRAIN_GRACE_MS, SimCluster, type SimMembershipOptions } from './sim-cluster.js';
import type { StorageOptions } from './sim-disk.js';
import type { NetworkFaults } from './sim-network.js';
import type { SeededRandom } from './seeded-random.js';
import { checkHintsDrained, checkOwnership, checkRingAgreement, checkTransfersComplete, type Holding, type PendingHints, type RingSighting } from './state-checkers.js';
import { liveValues, TransferAudit } from './transfer-audit.js';
import { Workload, type WorkloadOptions } from './workload.js';

/**
 * The cluster settings of these families: N = 3, R = W = 2 and a 1 s request timeout as everywhere;
 * 16 partitions (a ring change moves a few, quickly); anti-entropy exchanging every replica pair
 * of every partition within 4 s and giving up on a peer after 1 s.
 */
export const HEALING_CONFIG: Partial<ClusterConfig> = {
  n: 3,
  r: 2,
  w: 2,
  requestTimeoutMs: 1000,
  partitions: 16,
  aaeEnabled: true,
  aaeExchangePeriodMs: 4000,
  aaeRequestTimeoutMs: 1000,
};

/** the end's bounds: a ring change on a clean network, drains after the grace, hint replays */
const RING_SETTLE_MS = 60_000;
const DRAIN_SETTLE_MS = 10_000;
const HINT_SETTLE_MS = 10_000;
const POLL_MS = 250;

export interface HealingContext {
  cluster: SimCluster;
  history: History;
  schedule: FaultSchedule;
  /** the scenario's own random choices */
  rnd: SeededRandom;
  violations: Violation[];
  valueKeys: readonly string[];
  counterKeys: readonly string[];
  /** what each new replica held when a ring change committed */
  audit: TransferAudit;
  /** a workload on this run's history (give each its own clientPrefix) */
  workload(options: WorkloadOptions): Workload;
  /** runs a workload to completion (bounded); a workload that does not finish is a liveness violation */
  runWorkload(workload: Workload): Promise<void>;
  /** counts the family adds to the run's `observed` */
  observed: Record<string, number>;
  /** a check of the family's own, run with the history checkers at the very end */
  atEnd(check: () => Violation[]): void;
}

export interface HealingFamily {
  /** one line for --help and the README */
  description: string;
  nodeCount(rnd: SeededRandom): number;
  storage: StorageOptions;
  network: Partial<NetworkFaults>;
  /** over HEALING_CONFIG */
  config?: Partial<ClusterConfig>;
  membership?: SimMembershipOptions;
  valueKeys: readonly string[];
  counterKeys: readonly string[];
  /**
   * how long the end waits for the replicas to become identical without reads, once the ring is
   * settled and the hints drained: what the family's repair paths need (see checkConvergence)
   */
  convergeWithinMs(config: ClusterConfig): number;
  /** the run: workloads, faults, membership changes (the end follows) */
  body(ctx: HealingContext): Promise<void>;
  /** extra checks after the replicas converged (`converged`: keys whose replicas are identical), before the final reads */
  checks?(ctx: HealingContext, converged: ReadonlySet<string>): Promise<Violation[]>;
}

/** anti-entropy's bound: every replica pair exchanges within a period (±20 % jitter); three periods leave room for queued work */
export const aaeConvergence = (config: ClusterConfig): number => 3 * config.aaeExchangePeriodMs;

export async function runHealingFamily(name: string, family: HealingFamily, seed: number, options: ScenarioOptions): Promise<ScenarioResult> {
  if ((options.nodeKind ?? 'cluster') !== 'cluster') throw new Error(`scenario ${name} runs gossip membership: it needs --node cluster`);
  const rnd = scenarioRandom(seed);
  const kind = nodeKindOf(options);
  const cluster = await SimCluster.create({
    seed,
    nodeCount: family.nodeCount(rnd),
    createNode: options.createNode ?? kind.create,
    config: { ...HEALING_CONFIG, ...family.config },
    faults: { ...family.network, ...options.faults },
    storage: family.storage,
    wrapEngine: options.wrapEngine,
    wrapTransport: options.wrapTransport,
    traceSink: options.traceSink,
    membership: family.membership ?? {},
  });
  const history = new History(cluster.sim.clock, cluster.sim);
  const workloads: Workload[] = [];
  const lastChecks: Array<() => Violation[]> = [];
  const ctx: HealingContext = {
    cluster,
    history,
    schedule: new FaultSchedule(cluster, rnd),
    rnd,
    violations: [],
    valueKeys: family.valueKeys,
    counterKeys: family.counterKeys,
    audit: new TransferAudit(cluster, family.valueKeys),
    workload: (o) => {
      const w = new Workload(cluster, history, cluster.sim.random.fork(`workload:${o.clientPrefix ?? 'c'}`), o);
      workloads.push(w);
      return w;
    },
    runWorkload: (w) => runWorkloadToEnd(cluster, w, ctx.violations),
    observed: {},
    atEnd: (check) => lastChecks.push(check),
  };
  await family.body(ctx);
  const finalStats = await end(ctx, family, kind, workloads);
  for (const check of lastChecks) ctx.violations.push(...check());
  return runResult({ scenario: name, seed, options, cluster, history, violations: ctx.violations }, finalStats, { ...healingCounters(cluster), ...ctx.observed });
}

async function end(ctx: HealingContext, family: HealingFamily, kind: NodeKind, workloads: Workload[]) {
  const { cluster, schedule, violations, history } = ctx;
  const keys = [...family.valueKeys, ...family.counterKeys];
  // the end is on a clean network: what is left to repair is the cluster's job alone
  cluster.network.setFaults({ dropProbability: 0, duplicateProbability: 0, resetProbability: 0 });
  await repairEverything(cluster, schedule, violations);
  const repairedAt = cluster.sim.elapsedMs;
  const waited = (): number => cluster.sim.elapsedMs - repairedAt;

  await cluster.sim.runUntil(() => ringSettled(cluster), RING_SETTLE_MS);
  violations.push(...checkRingAgreement(sightings(cluster), cluster.expectedMembers(), waited()));
  const agreed = cluster.agreedRing();
  if (agreed && !agreed.pending) {
    const drainGraceMs = family.membership?.drainGraceMs ?? SIM_DRAIN_GRACE_MS;
    await cluster.sim.runUntil(() => !anyDraining(cluster), drainGraceMs + DRAIN_SETTLE_MS);
    await cluster.sim.runUntil(() => pendingHints(cluster).length === 0, HINT_SETTLE_MS);
    violations.push(...checkHintsDrained(pendingHints(cluster), waited()));
    const since = cluster.sim.elapsedMs;
    const limit = family.convergeWithinMs(cluster.config);
    let snapshots = await replicaSnapshots(cluster, kind, keys);
    while (!identical(snapshots) && cluster.sim.elapsedMs - since < limit) {
      await cluster.sim.runFor(POLL_MS);
      snapshots = await replicaSnapshots(cluster, kind, keys);
    }
    violations.push(...checkConvergence(snapshots, { afterFullRead: false, waitedMs: cluster.sim.elapsedMs - since }));
    violations.push(...checkOwnership(await holdings(cluster)));
    const converged = new Set(snapshots.filter((s) => new Set(s.replicas.map((r) => r.state)).size <= 1).map((s) => s.key));
    if (family.checks) violations.push(...(await family.checks(ctx, converged)));
    await finalReads(ctx, keys);
  }
  const finalStats = { network: { ...cluster.network.stats }, faults: faultsInjected(cluster) };
  await ctx.audit.settled();
  await cluster.stopAll();
  const ops = history.ops;
  const options = checkOptions(cluster);
  const crashed = new Set(workloads.flatMap((w) => [...w.crashedOpIds]));
  violations.push(...historyViolations(ops, options, crashed), ...checkTransfersComplete(ops, ctx.audit.snapshots, options));
  return finalStats;
}

/**
 * The history checkers' view of these runs: sloppy quorums are on (a write counts with pw primaries
 * when strict, else one), data loss counts per replica (a removed node's disk is a loss at that
 * node), and a key's replicas are every node that replicated it under any ring of the run.
 */
export function checkOptions(cluster: SimCluster): CheckOptions {
  const n = cluster.config.n;
  const rings = cluster.ringHistory().filter((r) => r.epoch >= 1);
  const cache = new Map<string, NodeId[]>();
  return {
    n,
    dataLoss: cluster.dataLoss,
    sloppy: true,
    lossPerReplica: true,
    replicasOf: (key) => {
      let list = cache.get(key);
      if (!list) {
        const ids = new Set<NodeId>();
        for (const r of rings) {
          const p = partitionOf(new TextEncoder().encode(key), r.ring.partitions);
          for (const id of r.ring.preferenceList(p, n).primaries) ids.add(id);
          if (r.pending) for (const id of r.pending.preferenceList(p, n).primaries) ids.add(id);
        }
        cache.set(key, (list = [...ids]));
      }
      return list;
    },
  };
}

/** every live node but `id` marks it down */
export function markedDownEverywhere(ctx: HealingContext, id: NodeId): boolean {
  const { cluster } = ctx;
  return cluster.upNodeIds().every((other) => other === id || cluster.clusterNode(other).cluster?.membership.statusOf(id) === 'down');
}

/** every member up and on one ring with no change pending, holding the expected members; every leave complete */
function ringSettled(cluster: SimCluster): boolean {
  if (!cluster.memberIds().every((id) => cluster.isUp(id))) return false;
  if (!cluster.leavingIds().every((id) => cluster.hasLeft(id))) return false;
  const agreed = cluster.agreedRing();
  if (!agreed || agreed.pending) return false;
  const want = cluster.expectedMembers();
  return agreed.ring.nodeIds.length === want.length && want.every((id) => agreed.ring.hasMember(id));
}

function sightings(cluster: SimCluster): RingSighting[] {
  return cluster
    .memberIds()
    .filter((id) => cluster.isUp(id) && !cluster.isRetired(id))
    .map((id) => {
      const s = cluster.ringOf(id);
      return { node: id, text: `${s.epoch}|${s.ring.owners().join(',')}|${s.pending?.owners().join(',') ?? ''}`, epoch: s.epoch, pending: s.pending !== undefined, members: s.ring.nodeIds };
    });
}

/** live ClusterNodes, members and nodes that left but still run */
function liveNodes(cluster: SimCluster): Array<{ id: NodeId; node: ClusterNode }> {
  return cluster.upNodeIds().map((id) => ({ id, node: cluster.clusterNode(id) }));
}

function anyDraining(cluster: SimCluster): boolean {
  const q = cluster.config.partitions;
  return liveNodes(cluster).some(({ node }) => {
    for (let p = 0; p < q; p++) if (node.transfers.isDraining(p)) return true;
    return false;
  });
}

function pendingHints(cluster: SimCluster): PendingHints[] {
  const out: PendingHints[] = [];
  for (const { id, node } of liveNodes(cluster)) {
    for (const target of node.hints.pendingTargets()) out.push({ node: id, target, count: node.hints.targetStats(target).count });
  }
  return out;
}

/** each key's stored object at each replica of the agreed ring, as canonical text */
async function replicaSnapshots(cluster: SimCluster, kind: NodeKind, keys: readonly string[]): Promise<ReplicaSnapshot[]> {
  const agreed = cluster.agreedRing()!;
  const up = new Set(cluster.upNodeIds());
  const out: ReplicaSnapshot[] = [];
  for (const key of keys) {
    const bytes = new TextEncoder().encode(key);
    const p = partitionOf(bytes, agreed.ring.partitions);
    const replicas: ReplicaSnapshot['replicas'] = [];
    for (const node of agreed.ring.preferenceList(p, cluster.config.n).primaries) {
      // a member still on the agreed ring but down (a remove that never committed) is ring-agreement's
      // to report; its disk cannot be read, and the live replicas are still compared
      if (!up.has(node)) continue;
      const stored = await cluster.engine(node).get(p, bytes);
      replicas.push({ node, state: stored === undefined ? undefined : kind.describeStored(stored) });
    }
    out.push({ key, replicas });
  }
  return out;
}

function identical(snapshots: readonly ReplicaSnapshot[]): boolean {
  return snapshots.every((s) => new Set(s.replicas.map((r) => r.state)).size <= 1);
}

/** the ring partitions each live node stores objects in, and those it replicates under the agreed ring */
async function holdings(cluster: SimCluster): Promise<Holding[]> {
  const agreed = cluster.agreedRing()!;
  const q = agreed.ring.partitions;
  const out: Holding[] = [];
  for (const { id } of liveNodes(cluster)) {
    const stored = new Set<number>();
    for await (const e of cluster.engine(id).scan(0, q)) if (e.partition < HINT_PARTITION) stored.add(e.partition);
    const replicates = new Set(cluster.isRetired(id) ? [] : agreed.ring.partitionsReplicatedBy(id, cluster.config.n));
    out.push({ node: id, stored: [...stored].sort((a, b) => a - b), replicates });
  }
  return out;
}

/** each key's live values at each replica of the agreed ring (for checkNoResurrection) */
export async function storedValues(cluster: SimCluster, keys: readonly string[]): Promise<Array<{ key: string; replicas: Array<{ node: NodeId; values: string[] }> }>> {
  const agreed = cluster.agreedRing()!;
  const out = [];
  for (const key of keys) {
    const bytes = new TextEncoder().encode(key);
    const p = partitionOf(bytes, agreed.ring.partitions);
    const replicas = [];
    for (const node of agreed.ring.preferenceList(p, cluster.config.n).primaries) replicas.push({ node, values: liveValues(await cluster.engine(node).get(p, bytes)) });
    out.push({ key, replicas });
  }
  return out;
}

/** after the replicas converged: a read of every key at r = n (strict) from every member, retried on error */
async function finalReads(ctx: HealingContext, keys: readonly string[]): Promise<void> {
  const { cluster } = ctx;
  const reader = ctx.workload({ clients: 0, opsPerClient: 0, keys: [], thinkMeanMs: 1, mix: { get: 1, blindPut: 0, readModifyWrite: 0, readDelete: 0 }, rChoices: [1], wChoices: [1], clientPrefix: 'verifier' });
  const rnd = cluster.sim.random.fork('verifier');
  const n = cluster.config.n;
  for (const key of keys) {
    for (const node of cluster.memberIds().filter((id) => cluster.isUp(id))) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const op = await drive(cluster, reader.get('verifier', rnd, key, { r: n, pr: n, node }));
        if (op?.outcome === 'ok') break;
      }
    }
  }
}

/** what the cluster's repair machinery did over the run, summed over every node incarnation */
function healingCounters(cluster: SimCluster): Record<string, number> {
  const c = { 'hints-stored': 0, 'hints-delivered': 0, 'hints-dropped': 0, 'keys-exchanged': 0, 'partitions-transferred': 0, 'partitions-dropped': 0, 'tombstones-reaped': 0 };
  for (const { node } of cluster.allNodes) {
    if (!(node instanceof ClusterNode)) continue;
    c['hints-stored'] += node.hints.stats.stored;
    c['hints-delivered'] += node.hints.stats.delivered;
    c['hints-dropped'] += node.hints.stats.droppedForAge + node.hints.stats.droppedForBytes;
    c['keys-exchanged'] += node.antiEntropy.stats.keysPushed + node.antiEntropy.stats.keysPulled;
    c['partitions-transferred'] += node.transfers.stats.transfersCompleted;
    c['partitions-dropped'] += node.transfers.stats.partitionsDropped;
    c['tombstones-reaped'] += node.reaper.stats.reaped;
  }
  return c;
}
