import type { NodeId } from '../core/member.js';
import type { Transport } from '../cluster/runtime.js';
import type { Engine } from '../storage/engine.js';
import {
  checkAcknowledgedWritesVisible,
  checkCounterBounds,
  checkLiveness,
  checkReadsReturnWrittenValues,
  checkSupersededValuesStayGone,
  type Violation,
} from './checkers.js';
import { History, type OpRecord } from './history.js';
import type { NetworkFaults, NetworkStats } from './sim-network.js';
import { SimCluster } from './sim-cluster.js';
import type { SimNodeFactory } from './sim-node.js';
import { SeededRandom } from './seeded-random.js';
import { Workload, type WorkloadOptions } from './workload.js';

export interface ScenarioOptions {
  createNode: SimNodeFactory;
  /** the CLI's name for createNode (`--node`), so the replay command names it; default 'cluster' */
  nodeKind?: string;
  /** verbose trace lines */
  traceSink?: (line: string) => void;
  /** planted bugs and fault injection */
  wrapEngine?: (id: NodeId, engine: Engine) => Engine;
  wrapTransport?: (id: NodeId, transport: Transport) => Transport;
  /** overrides the scenario's network faults (e.g. duplicationProbability: 0 to isolate a bug) */
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
  virtualMs: number;
  steps: number;
}

export type Scenario = (seed: number, options: ScenarioOptions) => Promise<ScenarioResult>;

/** the exact command that replays one run with a verbose trace */
export function replayCommand(scenario: string, seed: number, options: Pick<ScenarioOptions, 'nodeKind' | 'faults'> = {}): string {
  const flags = [`--seed ${seed}`, `--scenario ${scenario}`];
  if (options.nodeKind && options.nodeKind !== 'cluster') flags.push(`--node ${options.nodeKind}`);
  if (options.faults?.dropProbability !== undefined) flags.push(`--drop ${options.faults.dropProbability}`);
  if (options.faults?.duplicateProbability !== undefined) flags.push(`--duplicate ${options.faults.duplicateProbability}`);
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

const REQUEST_TIMEOUT_MS = 1000;
/** a write may be forwarded to a replica which then replicates: allow a few timeouts in a row */
const MAX_OP_MS = 4 * REQUEST_TIMEOUT_MS + 1000;
const WORKLOAD_LIMIT_MS = 600_000;

const MAIN_FAULTS = { latencyBaseMs: 1, latencyTailMeanMs: 5, latencyMaxMs: 200, dropProbability: 0.05, duplicateProbability: 0.02 };

function mainWorkload(keys: string[]): WorkloadOptions {
  return {
    clients: 4,
    opsPerClient: 8,
    keys,
    thinkMeanMs: 30,
    mix: { get: 35, blindPut: 25, readModifyWrite: 30, readDelete: 10 },
    rChoices: [1, 2, 2, 2, 3],
    wChoices: [1, 2, 2, 2, 3],
  };
}

function buildCluster(seed: number, nodeCount: number, options: ScenarioOptions, faults: Partial<NetworkFaults> = MAIN_FAULTS): SimCluster {
  return new SimCluster({
    seed,
    nodeCount,
    createNode: options.createNode,
    config: { n: 3, r: 2, w: 2, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    faults: { ...faults, ...options.faults },
    wrapEngine: options.wrapEngine,
    wrapTransport: options.wrapTransport,
    traceSink: options.traceSink,
  });
}

async function runWorkload(cluster: SimCluster, workload: Workload, violations: Violation[]): Promise<void> {
  workload.start();
  if (!(await cluster.sim.runUntil(() => workload.done, WORKLOAD_LIMIT_MS))) {
    violations.push({ checker: 'liveness', message: `the workload did not finish within ${WORKLOAD_LIMIT_MS} virtual ms`, opIds: [] });
  }
}

/** after the workload: a quorum read of every key from every live node, retried on error */
async function finalReads(cluster: SimCluster, workload: Workload, rnd: SeededRandom, keys: readonly string[]): Promise<void> {
  for (const key of keys) {
    for (const node of cluster.upNodeIds()) {
      for (let attempt = 0; attempt < 3; attempt++) {
        let op: OpRecord | undefined;
        const done = workload.get('verifier', rnd, key, { r: 2, node }).then((o) => (op = o));
        await cluster.sim.runUntil(() => op !== undefined, MAX_OP_MS * 2);
        await done;
        if (op?.outcome === 'ok') break;
      }
    }
  }
}

function finish(scenario: string, seed: number, options: ScenarioOptions, cluster: SimCluster, history: History, violations: Violation[]): ScenarioResult {
  return {
    scenario,
    seed,
    replay: replayCommand(scenario, seed, options),
    nodeCount: cluster.nodeIds.length,
    violations,
    history: history.ops,
    traceDigest: cluster.sim.traceDigest(),
    network: { ...cluster.network.stats },
    virtualMs: cluster.sim.elapsedMs,
    steps: cluster.sim.steps,
  };
}

/**
 * The main scenario: 3–5 nodes, N=3, default R=W=2 with per-op r/w in 1..3, random delays (hence
 * reordering), 5% loss, 2% duplication, no crashes; four clients doing reads, blind writes,
 * read-modify-writes and read-deletes on three keys; then quorum reads of every key from every node.
 * Checked: acknowledged writes visible, superseded values stay gone, reads return only written values,
 * every op answers in time.
 */
export const mainScenario: Scenario = async (seed, options) => {
  const nodeCount = scenarioRandom(seed).intBetween(3, 5);
  const cluster = buildCluster(seed, nodeCount, options);
  const history = new History(cluster.sim.clock, cluster.sim);
  const keys = ['k0', 'k1', 'k2'];
  const workload = new Workload(cluster, history, cluster.sim.random.fork('workload'), mainWorkload(keys));
  const violations: Violation[] = [];
  await runWorkload(cluster, workload, violations);
  await finalReads(cluster, workload, cluster.sim.random.fork('verifier'), keys);
  await cluster.stopAll();
  const ops = history.ops;
  const n = cluster.config.n;
  violations.push(
    ...checkAcknowledgedWritesVisible(ops, { n }),
    ...checkSupersededValuesStayGone(ops, { n }),
    ...checkReadsReturnWrittenValues(ops),
    ...checkLiveness(ops, { maxOpMs: MAX_OP_MS, crashedOpIds: workload.crashedOpIds }),
  );
  return finish('main', seed, options, cluster, history, violations);
};

/** the scenario's own choices (node count, fault times) come from a stream apart from the cluster's */
function scenarioRandom(seed: number): SeededRandom {
  return new SeededRandom(seed).fork('scenario');
}

/** drives the simulation until promise settles (bounded), then returns its value */
async function drive<T>(cluster: SimCluster, promise: Promise<T>, maxMs = MAX_OP_MS * 4): Promise<T | undefined> {
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
async function readUntilOk(cluster: SimCluster, workload: Workload, rnd: SeededRandom, key: string, r: number): Promise<OpRecord | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const op = await drive(cluster, workload.get('reader', rnd, key, { r }));
    if (op?.outcome === 'ok') return op;
  }
  return undefined;
}

/**
 * Concurrent blind writes become siblings, and a write with the merged context collapses them:
 * 2–4 clients put the same key through different nodes within a few ms; a quorum read must return
 * every acknowledged value; a put with that read's context must leave exactly its own value for the
 * next quorum read (checked by the general rules, plus explicit sibling-count checks).
 */
export const siblingsScenario: Scenario = async (seed, options) => {
  const rnd = scenarioRandom(seed);
  const nodeCount = rnd.intBetween(3, 5);
  const cluster = buildCluster(seed, nodeCount, options);
  const history = new History(cluster.sim.clock, cluster.sim);
  const workload = new Workload(cluster, history, cluster.sim.random.fork('workload'), mainWorkload(['hot']));
  const violations: Violation[] = [];
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
  if (siblingRead) {
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
  await cluster.stopAll();
  const n = cluster.config.n;
  const ops = history.ops;
  violations.push(
    ...checkAcknowledgedWritesVisible(ops, { n }),
    ...checkSupersededValuesStayGone(ops, { n }),
    ...checkReadsReturnWrittenValues(ops),
    ...checkLiveness(ops, { maxOpMs: MAX_OP_MS, crashedOpIds: workload.crashedOpIds }),
  );
  return finish('siblings', seed, options, cluster, history, violations);
};

/** A fault scheduled on a running cluster, and how to tell it has been repaired. */
interface ScheduledFault {
  repaired(): boolean;
  /** virtual time (from the start) by which the repair happens */
  repairByMs: number;
}

/**
 * 5 nodes under the main workload while `scheduleFault` breaks something and repairs it later; then
 * quorum reads of every key. With a node down or cut off, quorum-intersection claims do not hold in
 * a Dynamo-style store, so only the rules sound under any fault are checked: every op answers in time
 * (ops at a crashed node excepted) and reads return only values that were written.
 */
async function underFault(
  name: string,
  seed: number,
  options: ScenarioOptions,
  scheduleFault: (cluster: SimCluster, rnd: SeededRandom) => ScheduledFault,
): Promise<ScenarioResult> {
  const rnd = scenarioRandom(seed);
  const cluster = buildCluster(seed, 5, options);
  const history = new History(cluster.sim.clock, cluster.sim);
  const keys = ['k0', 'k1', 'k2'];
  const workload = new Workload(cluster, history, cluster.sim.random.fork('workload'), mainWorkload(keys));
  const violations: Violation[] = [];
  const fault = scheduleFault(cluster, rnd);
  await runWorkload(cluster, workload, violations);
  await cluster.sim.runUntil(fault.repaired, Math.max(0, fault.repairByMs - cluster.sim.elapsedMs) + 1);
  await finalReads(cluster, workload, cluster.sim.random.fork('verifier'), keys);
  await cluster.stopAll();
  const ops = history.ops;
  violations.push(...checkReadsReturnWrittenValues(ops), ...checkLiveness(ops, { maxOpMs: MAX_OP_MS, crashedOpIds: workload.crashedOpIds }));
  return finish(name, seed, options, cluster, history, violations);
}

/** Node failures: one node crashes at a random time and restarts later on its surviving engine. */
export const crashRestartScenario: Scenario = (seed, options) =>
  underFault('crash-restart', seed, options, (cluster, rnd) => {
    const victim = rnd.pick(cluster.nodeIds);
    const crashAtMs = rnd.intBetween(20, 300);
    const downForMs = rnd.intBetween(100, 3000);
    cluster.sim.clock.setTimer(crashAtMs, () => {
      cluster.crash(victim);
      cluster.sim.clock.setTimer(downForMs, () => cluster.restart(victim));
    });
    return { repaired: () => cluster.isUp(victim), repairByMs: crashAtMs + downForMs };
  });

/** Partitions: a random minority is cut off for a while, then the network heals. */
export const partitionScenario: Scenario = (seed, options) =>
  underFault('partition', seed, options, (cluster, rnd) => {
    const minority = cluster.nodeIds.filter(() => rnd.chance(0.3)).slice(0, 2);
    if (minority.length === 0) minority.push(rnd.pick(cluster.nodeIds));
    const cutAtMs = rnd.intBetween(20, 200);
    const healAfterMs = rnd.intBetween(100, 3000);
    let healed = false;
    cluster.sim.clock.setTimer(cutAtMs, () => {
      cluster.network.partition(minority);
      cluster.sim.clock.setTimer(healAfterMs, () => {
        cluster.network.heal();
        healed = true;
      });
    });
    return { repaired: () => healed, repairByMs: cutAtMs + healAfterMs };
  });

/**
 * PN-counters: 3–5 nodes under the main faults, four clients incrementing (mostly up, sometimes
 * down) and reading two counters through random nodes with random r/w; then quorum reads of both.
 * Checked: counter bounds (no increment lost or counted twice), every op answers in time.
 */
export const countersScenario: Scenario = async (seed, options) => {
  const nodeCount = scenarioRandom(seed).intBetween(3, 5);
  const cluster = buildCluster(seed, nodeCount, options);
  const history = new History(cluster.sim.clock, cluster.sim);
  const counterKeys = ['ctr0', 'ctr1'];
  const workload = new Workload(cluster, history, cluster.sim.random.fork('workload'), {
    ...mainWorkload([]),
    counterKeys,
    negativeDeltaProbability: 0.2,
    mix: { get: 0, blindPut: 0, readModifyWrite: 0, readDelete: 0, increment: 1 },
  });
  const violations: Violation[] = [];
  await runWorkload(cluster, workload, violations);
  await finalReads(cluster, workload, cluster.sim.random.fork('verifier'), counterKeys);
  await cluster.stopAll();
  const ops = history.ops;
  violations.push(...checkCounterBounds(ops, { n: cluster.config.n }), ...checkLiveness(ops, { maxOpMs: MAX_OP_MS, crashedOpIds: workload.crashedOpIds }));
  return finish('counters', seed, options, cluster, history, violations);
};

export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  main: mainScenario,
  counters: countersScenario,
  siblings: siblingsScenario,
  'crash-restart': crashRestartScenario,
  partition: partitionScenario,
};
