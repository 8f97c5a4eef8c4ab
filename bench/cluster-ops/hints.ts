/**
 * Hinted handoff on real processes: 3 nodes (n=3, w=2); a steady write load through n1 and n2; kill -9
 * n3 and keep writing for the outage; restart n3; time until every node's ringkv_hints_pending is 0,
 * the replay rate, and then an r=3 read of every acknowledged key, counting replicas that did not hold
 * it (the coordinators' stale-reply counters over the pass) as well as missing values.
 *
 * Anti-entropy is off by default (--no-aae-enabled) so that hints alone must bring n3 up to date: a node
 * restarted after kill -9 runs a full anti-entropy repair, which would hide a hint that never came.
 */
import type { BenchCluster, Target } from '../kit.js';
import { replicaCheck, SteadyLoad } from './load.js';
import { members, metric, metricOver, scrape } from './node-api.js';
import { fmt, ScenarioReport, type ScenarioResult } from './report.js';
import { now, say, seconds, sleep, until, WaitTimeout } from './timing.js';

export interface HintsOptions {
  outageSeconds: number;
  concurrency: number;
  valueBytes: number;
  drainTimeoutSeconds: number;
  withAae: boolean;
  start(nodes: number, settings: Record<string, string | number | boolean>): Promise<BenchCluster>;
}

/** per node: hints pending (all targets) and delivered so far */
async function hintCounters(targets: Target[]): Promise<Array<{ pending: number; delivered: number; dropped: number; replayRate: number }>> {
  return Promise.all(
    targets.map(async (t) => {
      const s = await scrape(t);
      return { pending: metric(s, 'ringkv_hints_pending'), delivered: metric(s, 'ringkv_hints_delivered_total'), dropped: metric(s, 'ringkv_hints_dropped_total'), replayRate: metric(s, 'ringkv_hints_replay_rate_per_second') };
    }),
  );
}

export async function hintedHandoff(o: HintsOptions): Promise<ScenarioResult> {
  const report = new ScenarioReport('hints');
  say(`hints: starting 3 nodes${o.withAae ? '' : ' with anti-entropy off'}`);
  const cluster = await o.start(3, o.withAae ? {} : { aaeEnabled: false });
  const [n1, n2, n3] = cluster.cluster.nodes;
  const writers = cluster.targets.slice(0, 2);
  let load: SteadyLoad | undefined;
  const body = async (): Promise<void> => {
    await until('every member up', async () => (await members(cluster.targets[0])).every((m) => m.status === 'up'), 60_000, 200);
    load = new SteadyLoad({ targets: writers, concurrency: o.concurrency, putFraction: 1, putPrefix: 'h', valueBytes: o.valueBytes, maxSeconds: o.outageSeconds + 120, maxOps: Number.MAX_SAFE_INTEGER, w: 2 });
    await sleep(3000);
    const killedAt = now();
    await n3.kill('SIGKILL');
    say(`  kill -9 ${n3.id}; writing through ${n1.id} and ${n2.id} for ${o.outageSeconds} s`);
    await sleep(o.outageSeconds * 1000);
    const outage = load.rate(killedAt, now());
    await load.stop();
    const stored = await metricOver(writers, 'ringkv_hints_stored_total');
    const atRestart = await hintCounters(writers);
    const pendingAtRestart = atRestart.reduce((n, c) => n + c.pending, 0);
    say(`  ${load.acked.length.toLocaleString('en-US')} writes acknowledged (${outage.putsPerSec} puts/s during the outage); ${pendingAtRestart.toLocaleString('en-US')} hints pending; restarting ${n3.id}`);

    const restartAt = now();
    n3.spawn();
    await n3.waitHealthy(60_000);
    const healthyMs = now() - restartAt;
    let firstDeliveryMs: number | null = null;
    let maxReplayRate = 0;
    let last = atRestart;
    let lastSay = now();
    try {
      await until(
        'every node with 0 hints pending',
        async () => {
          last = await hintCounters(cluster.targets);
          const delivered = last.reduce((n, c) => n + c.delivered, 0);
          if (firstDeliveryMs === null && delivered > 0) firstDeliveryMs = now() - restartAt;
          maxReplayRate = Math.max(maxReplayRate, ...last.map((c) => c.replayRate));
          if (now() - lastSay > 5000) {
            lastSay = now();
            say(`  … ${seconds(now() - restartAt)} s after the restart: ${last.reduce((n, c) => n + c.pending, 0)} hints pending, ${delivered} delivered`);
          }
          return last.every((c) => c.pending === 0);
        },
        o.drainTimeoutSeconds * 1000,
        250,
      );
    } catch (e) {
      if (!(e instanceof WaitTimeout)) throw e;
      report.problem(`hints did not drain: ${e.message}; pending per node ${last.map((c) => c.pending).join(' / ')}`);
    }
    const drainMs = now() - restartAt;
    const delivered = last.reduce((n, c) => n + c.delivered, 0);
    const dropped = last.reduce((n, c) => n + c.dropped, 0);
    const replaySecs = firstDeliveryMs === null ? NaN : (drainMs - firstDeliveryMs) / 1000;
    say(`  drained after ${seconds(drainMs)} s: ${delivered} delivered, ${dropped} dropped`);
    report.add(`hints stored during a ${o.outageSeconds}-s outage (pending at restart)`, `${stored.toLocaleString('en-US')} (${pendingAtRestart.toLocaleString('en-US')})`, `${load.acked.length.toLocaleString('en-US')} writes acknowledged, ${outage.putsPerSec} puts/s`);
    report.add('restart → every node with 0 hints pending (drain time)', fmt.s(drainMs), `process start to /health ${fmt.s(healthyMs)}, first hint delivered after ${firstDeliveryMs === null ? '-' : fmt.s(firstDeliveryMs)}`);
    report.add('replay rate (delivered ÷ first delivery → drained)', `${Math.round(delivered / replaySecs).toLocaleString('en-US')} hints/s`, `highest ringkv_hints_replay_rate_per_second ${maxReplayRate}; limit 1,000 per target per node`);

    // every acknowledged key, read at r=3: all three replicas must answer, and any that held it stale is counted
    const check = await replicaCheck(cluster.targets, cluster.targets, { keys: load.acked, valueBytes: o.valueBytes, concurrency: o.concurrency, maxSeconds: Math.max(300, load.acked.length / 200) });
    report.add('r=3 read of every acknowledged key: replicas without it (stale replies)', `${check.staleReplicas} of ${(3 * check.checked).toLocaleString('en-US')} replica reads`, `missing ${check.missing}, wrong ${check.wrong}, failed ${check.errors}`);
    report.data.hints = { outageSeconds: o.outageSeconds, withAae: o.withAae, acked: load.acked.length, outage, stored, pendingAtRestart, healthyMs, firstDeliveryMs, drainMs, delivered, dropped, replayPerSec: delivered / replaySecs, maxReplayRate, verify: check, loadFirstError: load.firstError };
    report.readBack('after the hints drained, an r=3 read of every acknowledged key', check, load.acked.length);
  };
  return report.run(body, async () => {
    await load?.stop();
    await cluster.stop();
  });
}
