/**
 * The membership experiments, shared by the simulation tests (a few seeds, small clusters) and
 * `npm run bench:membership` (more seeds, up to 1000 nodes, the 10-minute run): how many rounds a
 * change takes to reach everyone, how long a crash takes to be marked down everywhere, and whether a
 * long run with loss, jitter and pauses ever marks a live node down.
 */
import type { NodeId } from '../core/member.js';
import { GossipSimCluster, type GossipSimOptions } from './gossip-cluster.js';

/** n1…nN with zero padding, so id order is numeric order (n0001 < n0002 < … ) */
export function nodeIds(n: number, prefix = 'n'): NodeId[] {
  const width = String(n).length;
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
}

/** Starts n nodes that all know each other (a static peer list) and runs until every node has heard from every other. */
export async function convergedCluster(n: number, options: GossipSimOptions, maxMs = 120_000): Promise<{ cluster: GossipSimCluster; ids: NodeId[] }> {
  const cluster = new GossipSimCluster(options);
  const ids = nodeIds(n);
  await cluster.startAll(ids, { seeds: ids.slice(0, Math.min(3, n)) });
  const heardFromAll = (): boolean => ids.every((o) => cluster.node(o).rows().every((r) => r.incarnation > 0 && r.status === 'up'));
  // checked every 100 ms of virtual time, not after every event: the check reads n² rows
  const end = cluster.sim.elapsedMs + maxMs;
  while (!heardFromAll()) {
    if (cluster.sim.elapsedMs >= end) throw new Error(`seed ${options.seed}: ${n} nodes did not converge in ${maxMs} ms`);
    await cluster.sim.runFor(100);
  }
  return { cluster, ids };
}

/**
 * Applies `change` and runs until `reached(observer)` holds on every running node; returns the
 * virtual ms it took and the gossip rounds that is (ms / interval, rounded up).
 */
export async function spreadTime(
  cluster: GossipSimCluster,
  change: () => void,
  reached: (observer: NodeId) => boolean,
  intervalMs: number,
  maxMs = 120_000,
): Promise<{ ms: number; rounds: number }> {
  const start = cluster.sim.elapsedMs;
  change();
  const all = (): boolean => cluster.runningIds().every(reached);
  if (!(await cluster.sim.runUntil(all, maxMs))) throw new Error(`change did not reach every node within ${maxMs} ms`);
  const ms = cluster.sim.elapsedMs - start;
  return { ms, rounds: Math.ceil(ms / intervalMs) };
}

export interface DetectionSample {
  victim: NodeId;
  /** virtual ms from the crash to each live node marking the victim down */
  perObserver: number[];
}

/**
 * Crashes each victim in turn (waiting `settleMs` between), and records when every live node marks it
 * down. A crashed node stays down (the cluster shrinks by one per victim).
 */
export async function measureDetection(cluster: GossipSimCluster, victims: readonly NodeId[], settleMs = 5000, maxMs = 30_000): Promise<DetectionSample[]> {
  const out: DetectionSample[] = [];
  for (const victim of victims) {
    const downAt = new Map<NodeId, number>();
    const off = cluster.onEvent((observer, e, atMs) => {
      if (e.kind === 'member' && e.id === victim && e.current.status === 'down' && !downAt.has(observer)) downAt.set(observer, atMs);
    });
    const start = cluster.sim.elapsedMs;
    cluster.crash(victim);
    const everyone = (): boolean => cluster.runningIds().every((o) => downAt.has(o) || cluster.node(o).statusOf(victim) === 'down');
    const done = await cluster.sim.runUntil(everyone, maxMs);
    off();
    if (!done) throw new Error(`${victim} was not marked down everywhere within ${maxMs} ms`);
    out.push({ victim, perObserver: cluster.runningIds().map((o) => (downAt.get(o) ?? start) - start) });
    await cluster.sim.runFor(settleMs);
  }
  return out;
}

export interface LongRunResult {
  minutes: number;
  nodes: number;
  pauses: number;
  /** a running node marked down by another (each observer counted) */
  falseDowns: number;
  /** suspicions raised by detectors, and those of nodes that were not paused at the time */
  suspicions: number;
  suspicionsOfUnpaused: number;
  /** probe rounds that ended alive */
  probesAlive: number;
}

/**
 * Runs `minutes` of virtual time, pausing one random node for pauseMs every few seconds (never two at
 * once), and counts false down marks and suspicions.
 */
export async function longRun(cluster: GossipSimCluster, ids: readonly NodeId[], minutes: number, pauseMs = 2000): Promise<LongRunResult> {
  let falseDowns = 0;
  let suspicionsOfUnpaused = 0;
  const off = cluster.onEvent((observer, e) => {
    if (e.kind !== 'member' || e.id === observer || !cluster.isRunning(e.id)) return;
    if (e.current.status === 'down') falseDowns++;
    if (e.current.status === 'suspect' && e.previous?.status !== 'suspect' && !cluster.isPaused(e.id)) suspicionsOfUnpaused++;
  });
  const before = sum(ids, (id) => cluster.node(id).counters.suspicions);
  const probesBefore = sum(ids, (id) => cluster.node(id).probeCounters.alive);
  const random = cluster.sim.random.fork('long-run-pauses');
  const end = cluster.sim.elapsedMs + minutes * 60_000;
  let pauses = 0;
  while (cluster.sim.elapsedMs < end) {
    await cluster.sim.runFor(pauseMs + 1000 + random.int(4000));
    const victim = ids[random.int(ids.length)];
    cluster.pause(victim, pauseMs);
    pauses++;
  }
  await cluster.sim.runFor(pauseMs + 5000);
  off();
  return {
    minutes,
    nodes: ids.length,
    pauses,
    falseDowns,
    suspicions: sum(ids, (id) => cluster.node(id).counters.suspicions) - before,
    suspicionsOfUnpaused,
    probesAlive: sum(ids, (id) => cluster.node(id).probeCounters.alive) - probesBefore,
  };
}

function sum(ids: readonly NodeId[], f: (id: NodeId) => number): number {
  let s = 0;
  for (const id of ids) s += f(id);
  return s;
}

/** p-th percentile (0..1) of the values, nearest rank */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
