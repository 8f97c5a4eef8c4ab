/**
 * The `membership` family's run: a steady mixed load while nodes join, leave and are removed, with
 * crashes while partitions transfer — one of them, often, the claimant's, right after it planned the
 * change. The end (healing-run.ts) then wants one agreed ring with exactly the members the run left,
 * no node holding a partition it does not replicate, no hint owed, identical replicas, every new
 * replica complete when its change committed (checkTransfersComplete) and the history clean.
 */
import type { NodeId } from '../core/member.js';
import type { HealingContext } from './healing-run.js';
import { mixedLoad } from './healing-workloads.js';
import type { SeededRandom } from './seeded-random.js';

type Change = 'join' | 'leave' | 'remove';

/** a membership change never leaves fewer members than this (N = 3 replicas need three nodes) */
const MIN_MEMBERS = 3;

export async function membershipBody(ctx: HealingContext): Promise<void> {
  const { schedule, rnd } = ctx;
  planChanges(ctx);
  const disarm = crashDuringTransfers(ctx);
  if (rnd.chance(0.5)) schedule.crash(rnd.intBetween(200, 6000), rnd.intBetween(300, 3000));
  await ctx.runWorkload(ctx.workload(mixedLoad('c', 45, 150)));
  disarm();
}

/** 1–3 changes at random times in the load's first 6 s; who leaves or is removed is drawn when it happens */
function planChanges(ctx: HealingContext): void {
  const { cluster, rnd, schedule } = ctx;
  let members = cluster.nodeIds.length;
  let removed = false;
  const count = rnd.intBetween(1, 3);
  for (let i = 0; i < count; i++) {
    const options: Change[] = ['join'];
    if (members > MIN_MEMBERS) options.push('leave');
    if (members > MIN_MEMBERS && !removed) options.push('remove');
    const change = rnd.pick(options);
    members += change === 'join' ? 1 : -1;
    removed ||= change === 'remove';
    const atMs = rnd.intBetween(300, 6000);
    const pick = rnd.fork(`change:${i}`);
    const removeAfterMs = pick.intBetween(200, 4000);
    schedule.at(atMs, atMs + (change === 'remove' ? removeAfterMs : 0), async () => {
      if (change === 'join') await cluster.addNode();
      else if (change === 'leave') leaveOne(ctx, pick);
      else await removeOne(ctx, pick, removeAfterMs);
    });
  }
}

/** live members that are not leaving, if taking one away leaves enough */
function takeable(ctx: HealingContext): NodeId[] {
  const { cluster } = ctx;
  const staying = cluster.expectedMembers();
  return staying.length > MIN_MEMBERS ? staying.filter((id) => cluster.isUp(id)) : [];
}

function leaveOne(ctx: HealingContext, pick: SeededRandom): void {
  const candidates = takeable(ctx);
  if (candidates.length > 0) ctx.cluster.leave(pick.pick(candidates));
}

/** an operator's remove of a node that died: it crashes, and some time later a live member removes it */
async function removeOne(ctx: HealingContext, pick: SeededRandom, afterMs: number): Promise<void> {
  const { cluster } = ctx;
  const candidates = takeable(ctx);
  if (candidates.length === 0) return;
  const victim = pick.pick(candidates);
  cluster.crash(victim);
  await new Promise<void>((resolve) => cluster.sim.clock.setTimer(afterMs, resolve));
  if (cluster.isUp(victim)) return; // restarted meanwhile (it was never ours to remove then)
  // an operator removes through a member that knows the victim (a joiner that died at once may be known to none)
  const via = cluster.expectedMembers().filter((id) => id !== victim && cluster.isUp(id) && cluster.clusterNode(id).cluster?.membership.row(victim) !== undefined);
  if (via.length > 0) cluster.remove(victim, pick.pick(via));
  else await cluster.restart(victim);
}

/**
 * Most runs crash a node while a change is pending: half of them the claimant (the lowest live
 * member of the ring), within 1.5 s of the pending ring appearing, for 0.3–3 s. Returns what
 * disarms it (a change first pending after the load is not waited for).
 */
function crashDuringTransfers(ctx: HealingContext): () => void {
  const { cluster, rnd, schedule } = ctx;
  if (!rnd.chance(0.7)) return () => {};
  const claimant = rnd.chance(0.5);
  const delayMs = rnd.intBetween(0, 1500);
  const downMs = rnd.intBetween(300, 3000);
  const pick = rnd.fork('transfer-crash');
  let armed = true;
  const off = cluster.onNewRing((state) => {
    if (!armed || !state.pending) return;
    armed = false;
    const live = state.ring.nodeIds.filter((id) => cluster.isUp(id) && !cluster.isRetired(id));
    if (live.length === 0) return;
    const victim = claimant ? [...live].sort()[0] : pick.pick(live);
    schedule.crash(cluster.sim.elapsedMs + delayMs, downMs, victim);
  });
  return () => {
    armed = false;
    off();
  };
}
