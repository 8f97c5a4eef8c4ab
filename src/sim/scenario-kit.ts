/**
 * What every scenario family shares: the run's options and result, the replay command, the time
 * limits, the fault presets, and small drivers (run the simulation until a call settles).
 */
import type { NodeId } from '../core/member.js';
import type { Transport } from '../cluster/runtime.js';
import type { Engine } from '../storage/engine.js';
import {
  checkAcknowledgedWritesVisible,
  checkCounterBounds,
  checkDeletesStayDeleted,
  checkLiveness,
  checkReadsReturnWrittenValues,
  checkSupersededValuesStayGone,
  type CheckOptions,
  type Violation,
} from './checkers.js';
import type { FaultSchedule } from './fault-schedule.js';
import type { History, OpRecord } from './history.js';
import { DEFAULT_NODE_KIND, NODE_KINDS, type NodeKind } from './node-factories.js';
import type { StorageOptions } from './sim-disk.js';
import type { NetworkFaults, NetworkStats } from './sim-network.js';
import type { SimCluster } from './sim-cluster.js';
import type { SimNodeFactory } from './sim-node.js';
import { SeededRandom } from './seeded-random.js';
import type { Workload } from './workload.js';

export interface ScenarioOptions {
  /** the node implementation by its CLI name (`--node`) @default 'cluster' */
  nodeKind?: string;
  /** overrides the kind's factory (to wrap it); placement and stored format still come from nodeKind */
  createNode?: SimNodeFactory;
  /** verbose trace lines */
  traceSink?: (line: string) => void;
  /** planted bugs and fault injection */
  wrapEngine?: (id: NodeId, engine: Engine) => Engine;
  wrapTransport?: (id: NodeId, transport: Transport) => Transport;
  /** overrides the scenario's network faults (e.g. duplicateProbability: 0 to isolate a bug) */
  faults?: Partial<NetworkFaults>;
}

export interface ScenarioResult {
  scenario: string;
  seed: number;
  /** the command that replays this run */
  replay: string;
  nodeCount: number;
  violations: Violation[];
  history: OpRecord[];
  /** sha256 over every delivered message and history event: equal digests = identical runs */
  traceDigest: string;
  network: NetworkStats;
  /** faults injected, by kind (only kinds that occurred) */
  faults: Record<string, number>;
  virtualMs: number;
  steps: number;
  /**
   * what the cluster's own repair machinery did, by kind (membership and self-healing families):
   * hints stored, delivered and dropped, tombstones reaped, keys repaired by anti-entropy, ...
   */
  observed?: Record<string, number>;
}

export type Scenario = (seed: number, options: ScenarioOptions) => Promise<ScenarioResult>;

/** the exact command that replays one run with a verbose trace */
export function replayCommand(scenario: string, seed: number, options: Pick<ScenarioOptions, 'nodeKind' | 'faults'> = {}): string {
  const flags = [`--seed ${seed}`, `--scenario ${scenario}`];
  if (options.nodeKind && options.nodeKind !== DEFAULT_NODE_KIND) flags.push(`--node ${options.nodeKind}`);
  if (options.faults?.dropProbability !== undefined) flags.push(`--drop ${options.faults.dropProbability}`);
  if (options.faults?.duplicateProbability !== undefined) flags.push(`--duplicate ${options.faults.duplicateProbability}`);
  if (options.faults?.resetProbability !== undefined) flags.push(`--reset ${options.faults.resetProbability}`);
  return `npm run sim -- ${flags.join(' ')}`;
}

/** what a failing test prints: seed, replay command, violations */
export function formatFailure(result: ScenarioResult, maxViolations = 10): string {
  const lines = [
    `scenario ${result.scenario} seed ${result.seed} (${result.nodeCount} nodes): ${result.violations.length} violation(s)`,
    `replay: ${result.replay}`,
    ...result.violations.slice(0, maxViolations).map((v) => `  [${v.checker}] ${v.message}`),
  ];
  if (result.violations.length > maxViolations) lines.push(`  … and ${result.violations.length - maxViolations} more`);
  return lines.join('\n');
}

export const REQUEST_TIMEOUT_MS = 1000;
/** a write may be forwarded to a replica which then replicates: allow a few timeouts in a row */
export const MAX_OP_MS = 4 * REQUEST_TIMEOUT_MS + 1000;
export const WORKLOAD_LIMIT_MS = 600_000;
/** after the faults are repaired: lets late messages, forwarded writes and repairs land */
export const QUIET_MS = 2 * REQUEST_TIMEOUT_MS;
/** after the full reads: lets their read repairs land before replicas are compared */
export const REPAIR_SETTLE_MS = 1000;

export const MAIN_FAULTS: Partial<NetworkFaults> = { latencyBaseMs: 1, latencyTailMeanMs: 5, latencyMaxMs: 200, dropProbability: 0.05, duplicateProbability: 0.02 };
export const LSM_BATCH: StorageOptions = { engine: 'lsm', syncMode: 'batch' };
export const LSM_PERIODIC: StorageOptions = { engine: 'lsm', syncMode: 'periodic', periodicSyncMs: 10 };

/** the scenario's own choices (node count, fault times) come from a stream apart from the cluster's */
export function scenarioRandom(seed: number): SeededRandom {
  return new SeededRandom(seed).fork('scenario');
}

export function nodeKindOf(options: ScenarioOptions): NodeKind {
  const name = options.nodeKind ?? DEFAULT_NODE_KIND;
  const kind = NODE_KINDS[name];
  if (!kind) throw new Error(`unknown node kind ${JSON.stringify(name)}; known: ${Object.keys(NODE_KINDS).join(', ')}`);
  return kind;
}

/** faults injected, by kind: the cluster's own, the network's, and data-loss events */
export function faultsInjected(cluster: SimCluster): Record<string, number> {
  const s = cluster.network.stats;
  const all: Record<string, number> = {
    ...cluster.faultCounts,
    'message-dropped': s.dropped,
    'message-duplicated': s.duplicated,
    'connection-refused': s.refused,
    'connection-reset': s.resets,
    'scripted-rule': s.scripted,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v > 0));
}

/** drives the simulation until promise settles (bounded), then returns its value */
export async function drive<T>(cluster: SimCluster, promise: Promise<T>, maxMs = MAX_OP_MS * 4): Promise<T | undefined> {
  let settled = false;
  let value: T | undefined;
  void promise.then(
    (v) => {
      settled = true;
      value = v;
    },
    () => (settled = true),
  );
  await cluster.sim.runUntil(() => settled, maxMs);
  return value;
}

/** a quorum read retried until it succeeds (bounded) */
export async function readUntilOk(cluster: SimCluster, workload: Workload, rnd: SeededRandom, key: string, r: number): Promise<OpRecord | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const op = await drive(cluster, workload.get('reader', rnd, key, { r }));
    if (op?.outcome === 'ok') return op;
  }
  return undefined;
}


/** starts a workload and runs the simulation until it is done; one that does not finish is a liveness violation */
export async function runWorkloadToEnd(cluster: SimCluster, workload: Workload, violations: Violation[]): Promise<void> {
  workload.start();
  if (!(await cluster.sim.runUntil(() => workload.done, WORKLOAD_LIMIT_MS))) {
    violations.push({ checker: 'liveness', message: `the workload did not finish within ${WORKLOAD_LIMIT_MS} virtual ms`, opIds: [] });
  }
}

/**
 * The start of every run's end: waits for the fault plan's repairs (a plan that never finishes is a
 * liveness violation, a fault that threw a harness one), heals the network, boots every member that
 * is down (one that cannot start on its own disk is a violation).
 */
export async function repairEverything(cluster: SimCluster, schedule: FaultSchedule, violations: Violation[]): Promise<void> {
  await cluster.sim.runUntil(() => schedule.repaired, Math.max(0, schedule.repairByMs - cluster.sim.elapsedMs) + MAX_OP_MS);
  if (!schedule.repaired) violations.push({ checker: 'liveness', message: 'the fault plan did not finish its repairs (a restart never completed?)', opIds: [] });
  for (const e of schedule.errors) violations.push({ checker: 'harness', message: e, opIds: [] });
  cluster.network.heal();
  await cluster.start();
  for (const f of cluster.bootFailures) violations.push({ checker: 'boot', message: `${f.node} failed to start on its own disk at ${f.atMs} ms: ${f.error}`, opIds: [] });
}

/** every history checker, with the given view of quorums and data loss, and the liveness bound */
export function historyViolations(ops: readonly OpRecord[], options: CheckOptions, crashedOpIds: ReadonlySet<number>): Violation[] {
  return [
    ...checkAcknowledgedWritesVisible(ops, options),
    ...checkSupersededValuesStayGone(ops, options),
    ...checkDeletesStayDeleted(ops, options),
    ...checkReadsReturnWrittenValues(ops),
    ...checkCounterBounds(ops, options),
    ...checkLiveness(ops, { maxOpMs: MAX_OP_MS, crashedOpIds }),
  ];
}

/** a run's result, from its cluster and history (network counters and faults as taken before the final stop) */
export function runResult(
  run: { scenario: string; seed: number; options: ScenarioOptions; cluster: SimCluster; history: History; violations: Violation[] },
  finalStats: { network: NetworkStats; faults: Record<string, number> } | undefined,
  observed?: Record<string, number>,
): ScenarioResult {
  const { cluster } = run;
  return {
    scenario: run.scenario,
    seed: run.seed,
    replay: replayCommand(run.scenario, run.seed, run.options),
    nodeCount: cluster.nodeIds.length,
    violations: run.violations,
    history: run.history.ops,
    traceDigest: cluster.sim.traceDigest(),
    network: finalStats?.network ?? { ...cluster.network.stats },
    faults: finalStats?.faults ?? faultsInjected(cluster),
    virtualMs: cluster.sim.elapsedMs,
    steps: cluster.sim.steps,
    ...(observed ? { observed } : {}),
  };
}
