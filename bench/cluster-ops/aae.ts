/**
 * Anti-entropy on real processes: 3 nodes (n=3: every node holds every key) with M keys; 100 keys are
 * made to differ on n3 without hints — n3 stopped, the keys overwritten at w=2 through n1 and n2, hints
 * dropped (the nodes run with the shortest hint window, 1 s, and n3 comes back after it), n3 restarted —
 * then POST /cluster/repair on n3: the time until all 100 are pulled and until the repair is over, the
 * bytes anti-entropy exchanged (every node's ringkv_aae_sent + received) against the data size, and an
 * r=3 read of the 100 keys proving n3 holds them. A second round does the same under a steady load, for
 * the foreground throughput while the exchanges run against the same load without them.
 *
 * Scheduled exchanges are stretched to one per day here (--aae-exchange-period-ms), so the operator's
 * repair is the only exchange that meets the differing keys and its bytes are what is measured.
 */
import { partitionOf, keyBytes } from '../../src/core/hash.js';
import type { BenchCluster, Target } from '../kit.js';
import { request } from '../kit.js';
import { formatRate, keyName, preload, replicaCheck, SteadyLoad, valueOf } from './load.js';
import { members, metric, metricOver, post, ring, scrape, status } from './node-api.js';
import { fmt, ScenarioReport, type ScenarioResult } from './report.js';
import { now, say, seconds, sleep, until } from './timing.js';

export interface AaeOptions {
  keys: number;
  valueBytes: number;
  differing: number;
  concurrency: number;
  loadConcurrency: number;
  baselineSeconds: number;
  repairTimeoutSeconds: number;
  start(nodes: number, settings: Record<string, string | number | boolean>): Promise<BenchCluster>;
}

export const AAE_PREFIX = 'ak';
/** the shortest hint window the config allows: hints for n3 are dropped when it comes back */
export const AAE_SETTINGS = { hintWindowMs: 1000, aaeExchangePeriodMs: 86_400_000 };

/** a 3-node cluster holding keys ak-0 … ak-(keys-1), and the version tag of each key overwritten since (0 when absent) */
export interface LoadedCluster {
  cluster: BenchCluster;
  versions: Map<string, number>;
}

export async function startLoadedCluster(o: Pick<AaeOptions, 'keys' | 'valueBytes' | 'concurrency' | 'start'>, label: string): Promise<LoadedCluster> {
  say(`${label}: starting 3 nodes, preloading ${o.keys.toLocaleString('en-US')} keys of ${o.valueBytes} B`);
  const cluster = await o.start(3, AAE_SETTINGS);
  try {
    const pre = await preload(cluster.targets, { prefix: AAE_PREFIX, count: o.keys, valueBytes: o.valueBytes, concurrency: o.concurrency, maxSeconds: Math.max(300, o.keys / 100) });
    say(`  preloaded in ${pre.seconds.toFixed(1)} s (${pre.keysPerSec} keys/s, ${pre.retries} retries)`);
    return { cluster, versions: new Map() };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}

const sumAaeBytes = async (targets: Target[]): Promise<number> => (await metricOver(targets, 'ringkv_aae_sent_bytes_total')) + (await metricOver(targets, 'ringkv_aae_received_bytes_total'));

/**
 * keys spread over the lower half of the preloaded range (the foreground load reads the upper half, so
 * its reads never repair them), none in partition `avoid` (kept for the warm-up repair)
 */
function pickKeys(count: number, total: number, offset: number, q: number, avoid: number): string[] {
  const out: string[] = [];
  const step = Math.max(1, Math.floor(total / (count * 4)));
  for (let i = offset; out.length < count && i < total / 2; i += step) {
    const key = keyName(AAE_PREFIX, i);
    if (partitionOf(keyBytes(key), q) !== avoid) out.push(key);
  }
  if (out.length < count) throw new Error(`only ${out.length} keys to make differ in ${total}: preload more keys`);
  return out;
}

/** n3 stopped, the keys overwritten (read, then written with the read's context) at w=2, hints dropped, n3 back */
async function makeKeysDiffer({ cluster, versions }: LoadedCluster, keys: string[], version: number, valueBytes: number): Promise<{ hintsDelivered: number; hintsDropped: number }> {
  const [, , n3] = cluster.cluster.nodes;
  const writers = cluster.targets.slice(0, 2);
  const hints = async (): Promise<{ delivered: number; dropped: number; pending: number }> => {
    const all = await Promise.all(writers.map(scrape));
    const sum = (name: string): number => all.reduce((n, s) => n + metric(s, name), 0);
    return { delivered: sum('ringkv_hints_delivered_total'), dropped: sum('ringkv_hints_dropped_total'), pending: sum('ringkv_hints_pending') };
  };
  await n3.stop();
  await until(`${n3.id} down on n1 and n2`, async () => (await Promise.all(writers.map((t) => members(t)))).every((rows) => rows.find((m) => m.id === n3.id)?.status === 'down'), 30_000, 100);
  const h0 = await hints();
  for (const [i, key] of keys.entries()) {
    const t = writers[i % 2];
    const read = await request(t, { method: 'GET', path: `/kv/${key}?r=2`, keepBody: false });
    const context = read.headers['x-ringkv-context'];
    const res = await request(t, { method: 'PUT', path: `/kv/${key}?w=2`, body: valueOf(key, valueBytes, version), headers: typeof context === 'string' ? { 'x-ringkv-context': context } : {}, keepBody: false });
    if (res.status !== 204) throw new Error(`writing ${key} while ${n3.id} is down: HTTP ${res.status}`);
    versions.set(key, version);
  }
  const lastWrite = now();
  // past the hint window (1 s), so the hints are dropped rather than handed back
  await sleep(Math.max(0, lastWrite + 1500 - now()));
  n3.spawn();
  await n3.waitHealthy(120_000);
  await until(`${n3.id} up on n1 and n2`, async () => (await Promise.all(writers.map((t) => members(t)))).every((rows) => rows.find((m) => m.id === n3.id)?.status === 'up'), 60_000, 100);
  await until('hints for n3 gone from n1 and n2', async () => (await hints()).pending === 0, 60_000, 200);
  const h1 = await hints();
  return { hintsDelivered: h1.delivered - h0.delivered, hintsDropped: h1.dropped - h0.dropped };
}

/** POST /cluster/repair on the target; resolves once the repair is over, with its timings and the bytes all nodes exchanged */
async function repair(cluster: BenchCluster, t: Target, expectedPulls: number, timeoutMs: number, partition?: number): Promise<{ startedAt: number; ms: number; pulledAllMs: number | null; keysPulled: number; exchanges: number; exchangesFailed: number; aaeBytes: number; transportBytes: number }> {
  const aae0 = await sumAaeBytes(cluster.targets);
  const tr0 = await metricOver(cluster.targets, 'ringkv_transport_sent_bytes_total');
  const pulled0 = (await status(t)).antiEntropy!.keysPulled;
  const startedAt = now();
  const started = (await post(t, `/cluster/repair${partition === undefined ? '' : `?partition=${partition}`}`)) as { repair: { id: number }; alreadyRunning: boolean };
  if (started.alreadyRunning) throw new Error('a repair was already running on the node');
  let pulledAllMs: number | null = null;
  const done = await until(
    `repair ${started.repair.id} finished`,
    async () => {
      const ae = (await status(t)).antiEntropy!;
      if (pulledAllMs === null && ae.keysPulled - pulled0 >= expectedPulls) pulledAllMs = now() - startedAt;
      const r = ae.operatorRepair;
      return r !== null && r.id === started.repair.id && !r.running ? r : undefined;
    },
    timeoutMs,
    100,
  );
  const ms = now() - startedAt;
  if (done.error) throw new Error(`repair failed: ${done.error}`);
  return { startedAt, ms, pulledAllMs, keysPulled: done.keysPulled, exchanges: done.exchanges, exchangesFailed: done.exchangesFailed, aaeBytes: (await sumAaeBytes(cluster.targets)) - aae0, transportBytes: (await metricOver(cluster.targets, 'ringkv_transport_sent_bytes_total')) - tr0 };
}

export async function antiEntropy(o: AaeOptions, loaded: LoadedCluster): Promise<ScenarioResult> {
  const { cluster } = loaded;
  const report = new ScenarioReport('aae');
  const t3 = cluster.targets[2];
  const dataBytes = o.keys * o.valueBytes;
  const onDisk = (await status(cluster.targets[0])).storage.bytesOnDisk ?? NaN;
  let load: SteadyLoad | undefined;
  const body = async (): Promise<void> => {
    const q = (await ring(t3)).Q;
    const warmPartition = 0;
    for (const round of [1, 2]) {
      const underLoad = round === 2;
      const keys = pickKeys(o.differing, o.keys, round - 1, q, warmPartition);
      say(`  round ${round}${underLoad ? ' (under load)' : ''}: making ${keys.length} keys differ on n3 (n3 stopped, keys overwritten at w=2, hints dropped)`);
      const differ = await makeKeysDiffer(loaded, keys, round, o.valueBytes);
      if (differ.hintsDelivered > 0) report.problem(`round ${round}: ${differ.hintsDelivered} hints were handed back to n3: fewer than ${keys.length} keys differ`);
      // the restarted node rebuilds its trees from a scan first; a one-partition repair waits behind that
      const warm = await repair(cluster, t3, 0, o.repairTimeoutSeconds * 1000, warmPartition);
      say(`    n3 back; hints dropped ${differ.hintsDropped}; its trees were ready ${seconds(warm.ms)} s later`);
      if (underLoad) {
        load = new SteadyLoad({ targets: cluster.targets, concurrency: o.loadConcurrency, putFraction: 0.5, putPrefix: 'afg', getKeys: { prefix: AAE_PREFIX, from: Math.ceil(o.keys / 2), count: Math.floor(o.keys / 2) }, valueBytes: o.valueBytes, maxSeconds: 3 * o.baselineSeconds + o.repairTimeoutSeconds + 60, maxOps: Number.MAX_SAFE_INTEGER });
        say(`    steady load: ${o.loadConcurrency} clients, half puts, half gets (of keys that do not differ) over all 3 nodes; ${o.baselineSeconds} s without exchanges first`);
        await sleep(o.baselineSeconds * 1000);
      }
      const r = await repair(cluster, t3, keys.length, o.repairTimeoutSeconds * 1000);
      say(`    POST /cluster/repair on n3: ${r.keysPulled} keys pulled, all ${keys.length} after ${r.pulledAllMs === null ? '-' : seconds(r.pulledAllMs)} s, repair over after ${seconds(r.ms)} s, ${r.aaeBytes} bytes exchanged`);
      const label = underLoad ? 'under load: ' : '';
      report.add(`${label}repair of ${keys.length} differing keys in ${o.keys.toLocaleString('en-US')}: all pulled after / repair over after`, `${r.pulledAllMs === null ? 'never' : fmt.s(r.pulledAllMs)} / ${fmt.s(r.ms)}`, `target ≤ 5 s; ${r.exchanges} exchanges (${r.exchangesFailed} failed), ${r.keysPulled} keys pulled; trees ready ${fmt.s(warm.ms)} after the restart`);
      report.add(`${label}bytes exchanged (anti-entropy counters) / data`, `${fmt.mb(r.aaeBytes)} / ${fmt.mb(dataBytes)} = ${fmt.pct(r.aaeBytes / dataBytes)}`, `target ≤ 1 %; all internode bytes meanwhile ${fmt.mb(r.transportBytes)}; n1's data on disk ${fmt.mb(onDisk)}`);
      const { startedAt: _startedAt, ...figures } = r;
      const data: Record<string, unknown> = { keys: keys.length, ...differ, warmMs: warm.ms, ...figures, dataBytes, onDiskN1: onDisk };
      if (load) {
        await sleep(o.baselineSeconds * 1000);
        const before = load.rate(r.startedAt - o.baselineSeconds * 1000, r.startedAt);
        const during = load.rate(r.startedAt, r.startedAt + r.ms);
        const after = load.rate(r.startedAt + r.ms, r.startedAt + r.ms + o.baselineSeconds * 1000);
        report.add('foreground without exchanges → during the repair → after', `${formatRate(before)} → ${formatRate(during)} → ${formatRate(after)}`, `during = the ${fmt.s(r.ms)} the repair ran`);
        Object.assign(data, { before, during, after, loadFirstError: load.firstError });
        await load.stop();
        load = undefined;
      }
      if (r.pulledAllMs === null) report.problem(`round ${round}: the repair pulled ${r.keysPulled} keys, fewer than the ${keys.length} that differ`);
      const check = await replicaCheck([t3], cluster.targets, { keys, valueBytes: o.valueBytes, version: () => round, concurrency: 8, maxSeconds: 60 });
      report.add(`${label}r=3 read of the ${keys.length} keys through n3: replicas without the new value`, `${check.staleReplicas}`, `missing ${check.missing}, wrong ${check.wrong}, failed ${check.errors}`);
      data.check = check;
      report.data[`round${round}`] = data;
      report.readBack(`round ${round}: after the repair, an r=3 read of the repaired keys`, check, keys.length);
    }
  };
  return report.run(body, async () => {
    await load?.stop();
  });
}
