/**
 * Join and leave on real processes: 3 nodes preloaded with K keys; a 4th node joins with --join while a
 * steady put/get load runs; then it leaves again (POST /cluster/leave) under the same load. For each:
 * the time from the operation to the ring epoch with no pending moves, objects and bytes pulled by
 * the receiving nodes, keys/s and MB/s, foreground throughput before vs during, and partitions whose
 * owner (and replica set) moved against the ideal share. At the end every acknowledged key is read back.
 */
import type { BenchCluster, Target } from '../kit.js';
import { formatRate, keyName, preload, SteadyLoad, verify } from './load.js';
import { members, metricOver, ring, status, type RingView } from './node-api.js';
import { fmt, ScenarioReport, type ScenarioResult } from './report.js';
import { now, say, seconds, sleep, until, WaitTimeout } from './timing.js';

export interface JoinOptions {
  keys: number;
  valueBytes: number;
  preloadConcurrency: number;
  loadConcurrency: number;
  baselineSeconds: number;
  transferTimeoutSeconds: number;
  start(nodes: number): Promise<BenchCluster>;
}

/** partitions whose owner changed, and replicas that are new on a partition's preference list */
export function ringMoves(before: RingView, after: RingView): { owners: number; replicas: number } {
  let owners = 0;
  let replicas = 0;
  for (const p of after.partitions) {
    const old = before.partitions[p.partition];
    if (old.owner !== p.owner) owners++;
    replicas += p.preferenceList.filter((id) => !old.preferenceList.includes(id)).length;
  }
  return { owners, replicas };
}

interface ChangeFigures {
  seconds: number;
  /** from the operation until the claimant committed the pending ring */
  pendingAfterSeconds: number | null;
  /** from the operation until the receiving nodes' bulk phase was over (every inbound partition past `bulk`) */
  bulkDoneSeconds: number | null;
  objectsPulled: number;
  bytesPulled: number;
  ownersMoved: number;
  replicasMoved: number;
  idealOwners: number;
  idealReplicas: number;
  before: { putsPerSec: number; getsPerSec: number; errorsPerSec: number };
  during: { putsPerSec: number; getsPerSec: number; errorsPerSec: number };
  stalled: string[];
}

/**
 * Follows a ring change from t0 until `done(ring)`: the time the pending ring appeared, and (polling
 * the receivers' /cluster/status) when their bulk phase ended and whether a transfer stalled.
 */
async function followChange(what: string, watch: Target, receivers: Target[], t0: number, timeoutMs: number, done: (r: RingView) => boolean): Promise<{ doneMs: number; pendingMs: number | null; bulkDoneMs: number | null; stalled: string[] }> {
  let pendingMs: number | null = null;
  let bulkDoneMs: number | null = null;
  const stalled = new Set<string>();
  let lastProgress = now();
  let tick = 0;
  await until(
    what,
    async () => {
      const r = await ring(watch);
      if (pendingMs === null && r.pending.length > 0) pendingMs = now() - t0;
      if (tick++ % 2 === 0 && bulkDoneMs === null) {
        const inbound = (await Promise.all(receivers.map(async (t) => (await status(t)).transfers?.inbound ?? []))).flat();
        for (const t of inbound) if (t.stalled) stalled.add(`partition ${t.partition}: ${t.lastError ?? 'no progress'}`);
        if (inbound.length > 0 && inbound.every((t) => t.phase !== 'bulk')) bulkDoneMs = now() - t0;
      }
      if (now() - lastProgress > 10_000) {
        lastProgress = now();
        say(`  … ${what}: ${seconds(now() - t0)} s, epoch ${r.epoch}, ${r.pending.length} pending moves`);
      }
      return done(r);
    },
    timeoutMs,
    250,
  );
  return { doneMs: now() - t0, pendingMs, bulkDoneMs, stalled: [...stalled] };
}

function addChangeFigures(report: ScenarioReport, label: string, c: ChangeFigures, receivers: string): void {
  report.add(`${label}: operation → ring with no pending moves`, fmt.s(c.seconds * 1000), `pending ring after ${c.pendingAfterSeconds ?? '-'} s, bulk copy done after ${c.bulkDoneSeconds ?? '-'} s`);
  report.add(`${label}: objects / bytes pulled (${receivers})`, `${c.objectsPulled.toLocaleString('en-US')} / ${fmt.mb(c.bytesPulled)}`);
  const rateSecs = c.bulkDoneSeconds ?? c.seconds;
  report.add(`${label}: transfer rate over the bulk copy`, `${Math.round(c.objectsPulled / rateSecs).toLocaleString('en-US')} keys/s, ${(c.bytesPulled / 1e6 / rateSecs).toFixed(2)} MB/s`, `over the whole change: ${Math.round(c.objectsPulled / c.seconds).toLocaleString('en-US')} keys/s`);
  report.add(`${label}: partitions whose owner moved / ideal`, `${c.ownersMoved} / ${c.idealOwners} (${fmt.ratio(c.ownersMoved / c.idealOwners)}×)`, `replicas moved ${c.replicasMoved} / ideal ${c.idealReplicas}`);
  report.add(`${label}: foreground before → during`, `${formatRate(c.before)} → ${formatRate(c.during)}`, `errors/s ${c.before.errorsPerSec} → ${c.during.errorsPerSec}`);
}

export async function joinLeave(o: JoinOptions): Promise<ScenarioResult> {
  const report = new ScenarioReport('join');
  say(`join: starting 3 nodes, preloading ${o.keys.toLocaleString('en-US')} keys of ${o.valueBytes} B`);
  const cluster = await o.start(3);
  let load: SteadyLoad | undefined;
  const body = async (): Promise<void> => {
    const pre = await preload(cluster.targets, { prefix: 'jk', count: o.keys, valueBytes: o.valueBytes, concurrency: o.preloadConcurrency, maxSeconds: Math.max(300, o.keys / 100) });
    say(`  preloaded in ${pre.seconds.toFixed(1)} s (${pre.keysPerSec} keys/s, ${pre.retries} retries)`);
    report.data.preload = pre;
    const old = cluster.targets.slice(0, 3);
    const horizon = 4 * o.baselineSeconds + 3 * o.transferTimeoutSeconds + 300;
    load = new SteadyLoad({ targets: old, concurrency: o.loadConcurrency, putFraction: 0.5, putPrefix: 'jl', getKeys: { prefix: 'jk', count: o.keys }, valueBytes: o.valueBytes, maxSeconds: horizon, maxOps: Number.MAX_SAFE_INTEGER });
    say(`  steady load: ${o.loadConcurrency} clients, half puts, half gets, over n1–n3; ${o.baselineSeconds} s before the join`);
    await sleep(o.baselineSeconds * 1000);

    // ---- join
    const before = await ring(old[0]);
    const joinAt = now();
    const { node: n4, target: t4 } = await cluster.join();
    say(`  ${n4.id} started with --join, healthy after ${seconds(now() - joinAt)} s`);
    const join = await followChange(`${n4.id} on the ring with no pending moves`, old[0], [t4], joinAt, o.transferTimeoutSeconds * 1000, (r) => r.members.includes(n4.id) && r.pending.length === 0 && r.epoch > before.epoch);
    const afterJoin = await ring(old[0]);
    const joinMoves = ringMoves(before, afterJoin);
    const joined: ChangeFigures = {
      seconds: seconds(join.doneMs),
      pendingAfterSeconds: join.pendingMs === null ? null : seconds(join.pendingMs),
      bulkDoneSeconds: join.bulkDoneMs === null ? null : seconds(join.bulkDoneMs),
      objectsPulled: await metricOver([t4], 'ringkv_transfers_objects_pulled_total'),
      bytesPulled: await metricOver([t4], 'ringkv_aae_received_bytes_total'),
      ownersMoved: joinMoves.owners,
      replicasMoved: joinMoves.replicas,
      idealOwners: before.Q / (before.members.length + 1),
      idealReplicas: (before.N * before.Q) / (before.members.length + 1),
      before: load.rate(joinAt - o.baselineSeconds * 1000, joinAt),
      during: load.rate(joinAt, joinAt + join.doneMs),
      stalled: join.stalled,
    };
    say(`  join done after ${joined.seconds} s: ${joined.objectsPulled} objects pulled; owners moved ${joined.ownersMoved} (ideal ${joined.idealOwners})`);
    addChangeFigures(report, 'join', joined, n4.id);
    report.data.join = joined;

    // the old owners drop what they handed away after drainGraceMs (handing off anything the new replica lacks first)
    const droppedAt = now();
    try {
      await until(
        'handed-away replicas dropped by the old owners',
        async () => (await metricOver(old, 'ringkv_transfers_partitions_dropped_total')) >= joinMoves.replicas,
        o.transferTimeoutSeconds * 1000,
        1000,
      );
      report.add('join: old owners dropped the replicas they handed away', `${joinMoves.replicas} partitions after ${fmt.s(now() - joinAt)}`, 'after drainGraceMs (60 s)');
    } catch (e) {
      if (!(e instanceof WaitTimeout)) throw e;
      report.problem(`${e.message}: ${await metricOver(old, 'ringkv_transfers_partitions_dropped_total')} of ${joinMoves.replicas} dropped ${seconds(now() - droppedAt)} s after the join finished`);
    }

    // ---- leave
    await sleep(o.baselineSeconds * 1000);
    const beforeLeave = await ring(old[0]);
    const pulled0 = await metricOver(old, 'ringkv_transfers_objects_pulled_total');
    const bytes0 = await metricOver(old, 'ringkv_aae_received_bytes_total');
    const leaveAt = now();
    const res = await fetch(`http://${t4.host}:${t4.port}/cluster/leave`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    say(`  POST /cluster/leave on ${n4.id}: HTTP ${res.status}`);
    const leave = await followChange(`${n4.id} off the ring with no pending moves`, old[0], old, leaveAt, o.transferTimeoutSeconds * 1000, (r) => !r.members.includes(n4.id) && r.pending.length === 0);
    const afterLeave = await ring(old[0]);
    const leaveMoves = ringMoves(beforeLeave, afterLeave);
    const left: ChangeFigures = {
      seconds: seconds(leave.doneMs),
      pendingAfterSeconds: leave.pendingMs === null ? null : seconds(leave.pendingMs),
      bulkDoneSeconds: leave.bulkDoneMs === null ? null : seconds(leave.bulkDoneMs),
      objectsPulled: (await metricOver(old, 'ringkv_transfers_objects_pulled_total')) - pulled0,
      bytesPulled: (await metricOver(old, 'ringkv_aae_received_bytes_total')) - bytes0,
      ownersMoved: leaveMoves.owners,
      replicasMoved: leaveMoves.replicas,
      idealOwners: beforeLeave.Q / beforeLeave.members.length,
      idealReplicas: (beforeLeave.N * beforeLeave.Q) / beforeLeave.members.length,
      before: load.rate(leaveAt - o.baselineSeconds * 1000, leaveAt),
      during: load.rate(leaveAt, leaveAt + leave.doneMs),
      stalled: leave.stalled,
    };
    const n4Status = (await members(old[0])).find((m) => m.id === n4.id)?.status ?? 'absent';
    say(`  leave done after ${left.seconds} s (${n4.id} is ${n4Status} on n1): ${left.objectsPulled} objects pulled; owners moved ${left.ownersMoved} (ideal ${left.idealOwners})`);
    addChangeFigures(report, 'leave', left, 'n1–n3');
    report.data.leave = { ...left, leaverStatus: n4Status };
    for (const [label, c] of [['join', joined], ['leave', left]] as const) {
      if (c.stalled.length > 0) report.problem(`${label}: ${c.stalled.length} inbound partition transfers were reported stalled at some point (e.g. ${c.stalled.slice(0, 3).join('; ')})`);
    }
    if (!load.running) report.problem('the steady load ran out of its time bound before the leave finished: the throughput figures are short');
    await load.stop();
    await n4.stop();

    // ---- nothing lost
    const acked = load.acked;
    say(`  reading back ${acked.length.toLocaleString('en-US')} acknowledged load keys and the ${o.keys.toLocaleString('en-US')} preloaded keys at r=2`);
    const keys = [...acked, ...Array.from({ length: o.keys }, (_, i) => keyName('jk', i))];
    const check = await verify(old, { keys, valueBytes: o.valueBytes, r: 2, concurrency: o.preloadConcurrency, maxSeconds: Math.max(300, keys.length / 200) });
    report.add('every acknowledged key read back at r=2 (missing / wrong / failed)', `${check.checked.toLocaleString('en-US')} read: ${check.missing} / ${check.wrong} / ${check.errors}`, `gets of preloaded keys that answered 404 during the changes: ${load.getsNotFound}`);
    report.data.verify = { ...check, getsNotFoundDuringLoad: load.getsNotFound, loadFirstError: load.firstError };
    report.readBack('after join and leave, a read of every acknowledged key', check, keys.length);
    if (load.getsNotFound > 0) report.problem(`${load.getsNotFound} gets of preloaded keys answered 404 during the ring changes`);
  };
  return report.run(body, async () => {
    await load?.stop();
    await cluster.stop();
  });
}
