/**
 * The `hinted-handoff` family's run. Hinted handoff is the only repair path that must make replicas
 * identical here (anti-entropy is off, nothing reads, no message is lost), so the run gives a replica
 * no other way to miss a write than being down: writes with every node up, a pause, a crash of one
 * node between writes, then — once every live node has marked it down — sloppy writes that must reach
 * W through stand-ins (sloppyAvailability), the node's return while they go on, and sometimes a
 * second crash (of it, or of a stand-in) while the hints replay. The end wants no hint left and every
 * replica identical within a few seconds, with no read.
 */
import type { NodeId } from '../core/member.js';
import type { Violation } from './checkers.js';
import { markedDownEverywhere, type HealingContext } from './healing-run.js';
import { writeOnlyLoad } from './healing-workloads.js';
import { describeOp } from './history.js';

/** longer than any message's delay (200 ms at most): nothing is in flight after it */
const QUIESCE_MS = 500;
/** a crashed node is marked down everywhere within about 4 s (README, membership) */
const DETECTION_LIMIT_MS = 15_000;

/** while the victim was down and known to be: when, and how many nodes were live */
interface Window {
  victim: NodeId;
  fromMs: number;
  toMs: number;
  live: number;
}

export async function hintedHandoffBody(ctx: HealingContext): Promise<void> {
  const { cluster, rnd, schedule, violations } = ctx;
  await ctx.runWorkload(ctx.workload(writeOnlyLoad('a', 6, 30)));
  await cluster.sim.runFor(QUIESCE_MS);
  const victim = rnd.pick(cluster.nodeIds);
  cluster.crash(victim);
  if (!(await cluster.sim.runUntil(() => markedDownEverywhere(ctx, victim), DETECTION_LIMIT_MS))) {
    violations.push({ checker: 'liveness', message: `${victim} crashed but was not marked down by every live node within ${DETECTION_LIMIT_MS} ms`, opIds: [] });
  }
  const window: Window = { victim, fromMs: cluster.sim.elapsedMs, toMs: Infinity, live: cluster.upNodeIds().length };
  ctx.atEnd(() => sloppyAvailability(ctx, window));
  const restartAtMs = cluster.sim.elapsedMs + rnd.intBetween(300, 1500);
  schedule.at(restartAtMs, restartAtMs, async () => {
    window.toMs = cluster.sim.elapsedMs;
    await cluster.restart(victim);
  });
  await ctx.runWorkload(ctx.workload(writeOnlyLoad('b', 10, 40)));
  await cluster.sim.runUntil(() => schedule.repaired, 5000);
  if (rnd.chance(0.5)) {
    // no client write is in flight now: a crash loses no write, only hints on their way back
    const second = rnd.chance(0.5) ? victim : rnd.pick(cluster.nodeIds.filter((id) => id !== victim));
    schedule.crash(cluster.sim.elapsedMs + rnd.intBetween(0, 600), rnd.intBetween(200, 1500), second);
  }
}

/**
 * Sloppy writes succeed: every write invoked while the victim was marked down everywhere and not yet
 * restarted, with w no larger than the nodes it can reach (min(N, live nodes) — W counts distinct
 * nodes, a stand-in's hint among them), is acknowledged.
 *
 * SOUND on this family's network (no loss, no reset, delays under 200 ms against a 1 s timeout) with
 * every other node up and none suspected: the coordinator (or the replica a write is forwarded to)
 * sends to the live primaries and, for the down one, to the first live node after the primaries, or
 * keeps the hint itself when there is none.
 */
function sloppyAvailability(ctx: HealingContext, window: Window): Violation[] {
  const n = ctx.cluster.config.n;
  const reachable = Math.min(n, window.live);
  const violations: Violation[] = [];
  for (const op of ctx.history.ops) {
    if (op.kind === 'get' || op.w === undefined || op.w > reachable) continue;
    if (op.startMs < window.fromMs || op.startMs >= window.toMs || op.client.startsWith('verifier')) continue;
    if (op.outcome === 'ok') continue;
    violations.push({
      checker: 'sloppy-writes-available',
      message: `with ${window.victim} down and marked down everywhere, a write at w=${op.w} (≤ ${reachable} reachable nodes) failed: ${describeOp(op)}`,
      opIds: [op.id],
    });
  }
  return violations;
}
