/**
 * The `doomstone` family's run — Riak's doomstone, on purpose: a delete is written while one primary
 * is down, so its first stand-in keeps the tombstone as a hint; the stand-in's replay of that hint is
 * held in the network; the primary returns and gets the delete by anti-entropy; the grace passes and
 * the primaries reap the tombstone; a new write of the key is acknowledged by all three; only then is
 * the held replay delivered. The new write must survive (final reads at r = n, acknowledged-writes-
 * visible), the deleted value must not come back (no-resurrection, deletes-stay-deleted) and the
 * replicas must agree again without a read. A light load on other keys (no deletes) runs meanwhile.
 * Which primary misses the delete, which coordinates, the cluster size and every delay vary by seed.
 */
import { partitionOf } from '../core/hash.js';
import type { NodeId } from '../core/member.js';
import type { OpRecord } from './history.js';
import { markedDownEverywhere, type HealingContext } from './healing-run.js';
import { mixedLoad } from './healing-workloads.js';
import { drive } from './scenario-kit.js';
import { liveValues } from './transfer-audit.js';

const KEY = 'doom';
/** bounds of each step: detection, anti-entropy bringing the delete, the grace and a reaping pass */
const STEP_LIMIT_MS = 15_000;

export async function doomstoneBody(ctx: HealingContext): Promise<void> {
  const { cluster, rnd, violations } = ctx;
  const n = cluster.config.n;
  const ring = cluster.agreedRing()!.ring;
  const partition = partitionOf(new TextEncoder().encode(KEY), ring.partitions);
  const list = ring.preferenceList(partition, n);
  const primaries = [...list.primaries];
  const missing = rnd.pick(primaries);
  const coordinator = rnd.pick(primaries.filter((id) => id !== missing));
  const standIn = list.fallbacks[0];
  const writer = ctx.workload({ ...mixedLoad('d', 0, 1), clients: 0, strictProbability: 0 });
  const background = ctx.workload({ ...mixedLoad('bg', 25, 250, ['k0', 'k1']), counterKeys: [], mix: { get: 30, blindPut: 40, readModifyWrite: 30, readDelete: 0 } });
  background.start();
  const fail = (message: string): void => void violations.push({ checker: 'doomstone', message, opIds: [] });

  const first = await retry(ctx, () => writer.put('d1', rnd, KEY, 'd1-old', undefined, { w: n, pw: n, node: coordinator }));
  if (!first) return fail(`the first write of ${KEY} was never acknowledged at w=${n} with every node up`);
  cluster.crash(missing);
  if (!(await cluster.sim.runUntil(() => markedDownEverywhere(ctx, missing), STEP_LIMIT_MS))) return fail(`${missing} was not marked down everywhere within ${STEP_LIMIT_MS} ms`);
  const read = await retry(ctx, () => writer.get('d1', rnd, KEY, { r: 2, pr: 2, node: coordinator }));
  if (!read) return fail(`no strict read of ${KEY} succeeded with one primary down`);
  const del = await retry(ctx, () => writer.del('d1', rnd, KEY, read, { w: 2, node: coordinator }));
  if (!del) return fail(`the delete of ${KEY} was never acknowledged at w=2 with one primary down`);
  // the delete was acknowledged by W; its hint may still be on its way to the stand-in
  if (!(await until(ctx, async () => cluster.clusterNode(standIn).hints.targetStats(missing).count > 0))) {
    return fail(`the delete left no hint for ${missing} on its first stand-in ${standIn}`);
  }

  // hint replays carry no ring epoch (writes and read repairs do): that is how the rule tells them apart
  const held = cluster.network.addRule({ match: (m) => m.from === standIn && m.to === missing && m.msg.type === 'replicate' && m.msg.epoch === undefined, action: 'hold' });
  try {
    await cluster.restart(missing);
    const stored = async (id: NodeId): Promise<Uint8Array | undefined> => cluster.engine(id).get(partition, new TextEncoder().encode(KEY));
    const tombstoned = async (): Promise<boolean> => {
      const bytes = await stored(missing);
      return bytes !== undefined && liveValues(bytes).length === 0;
    };
    if (!(await until(ctx, tombstoned))) return fail(`anti-entropy did not bring the delete to ${missing} within ${STEP_LIMIT_MS} ms`);
    const reaped = async (): Promise<boolean> => (await Promise.all(primaries.map(stored))).every((b) => b === undefined);
    if (!(await until(ctx, reaped))) return fail(`the tombstone of ${KEY} was not reaped within ${STEP_LIMIT_MS} ms once every primary held it`);
    ctx.observed['doomstone-reaped'] = 1;
    const fresh = await retry(ctx, () => writer.put('d2', rnd, KEY, 'd2-new', undefined, { w: n, pw: n, node: rnd.pick(primaries) }));
    if (!fresh) return fail(`the write after the reap was never acknowledged at w=${n}`);
    // the stale hint was on its way back (held) while the tombstone was reaped and the key written again
    ctx.observed['doomstone-hint-held'] = held.fired > 0 ? 1 : 0;
  } finally {
    held.release();
  }
  await cluster.sim.runUntil(() => background.done, STEP_LIMIT_MS);
}

/** an operation retried (at most 3 times) until acknowledged */
async function retry(ctx: HealingContext, op: () => Promise<OpRecord | undefined>): Promise<OpRecord | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const done = await drive(ctx.cluster, op());
    if (done?.outcome === 'ok') return done;
  }
  return undefined;
}

/** runs the simulation until an async condition holds (checked every 100 ms), bounded */
async function until(ctx: HealingContext, condition: () => Promise<boolean>): Promise<boolean> {
  const limit = ctx.cluster.sim.elapsedMs + STEP_LIMIT_MS;
  while (!(await condition())) {
    if (ctx.cluster.sim.elapsedMs >= limit) return false;
    await ctx.cluster.sim.runFor(100);
  }
  return true;
}
