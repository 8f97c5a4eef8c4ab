/**
 * Rebuild of a wiped node on real processes: in a 3-node cluster holding M keys (n=3: every node holds
 * every key), n3 is stopped, its data directory deleted, and n3 started again with the same command
 * line. With no data it runs a full anti-entropy repair of every partition at start; the time until that
 * repair reports done = total, the objects and bytes it moved against the data size, and an r=3 read of
 * a sample of keys through n3 (which reads its own copy locally) counting copies n3 did not hold.
 */
import { rmSync } from 'node:fs';
import { keyName, replicaCheck } from './load.js';
import { metricOver, status } from './node-api.js';
import { fmt, ScenarioReport, type ScenarioResult } from './report.js';
import { AAE_PREFIX, type LoadedCluster } from './aae.js';
import { now, say, seconds, until, WaitTimeout } from './timing.js';

export interface RebuildOptions {
  keys: number;
  valueBytes: number;
  sample: number;
  timeoutSeconds: number;
}

export async function rebuild(o: RebuildOptions, { cluster, versions }: LoadedCluster): Promise<ScenarioResult> {
  const report = new ScenarioReport('rebuild');
  const n3 = cluster.cluster.nodes[2];
  const t3 = cluster.targets[2];
  const others = cluster.targets.slice(0, 2);
  const dataBytes = o.keys * o.valueBytes;
  const body = async (): Promise<void> => {
    const onDisk = (await status(cluster.targets[0])).storage.bytesOnDisk ?? NaN;
    await n3.stop();
    rmSync(n3.spec.dataDir, { recursive: true, force: true });
    say(`rebuild: ${n3.id} stopped, its data directory deleted; starting it again`);
    const aae0 = (await metricOver(others, 'ringkv_aae_sent_bytes_total')) + (await metricOver(others, 'ringkv_aae_received_bytes_total'));
    const startedAt = now();
    n3.spawn();
    await n3.waitHealthy(120_000);
    const healthyMs = now() - startedAt;
    let lastSay = now();
    let failed: string | undefined;
    try {
      await until(
        `${n3.id}'s full repair done`,
        async () => {
          const ae = (await status(t3)).antiEntropy!;
          if (now() - lastSay > 10_000) {
            lastSay = now();
            say(`  … ${seconds(now() - startedAt)} s: full repair ${ae.fullRepair.done} of ${ae.fullRepair.total} partitions, ${ae.keysPulled.toLocaleString('en-US')} keys pulled`);
          }
          return ae.fullRepair.total > 0 && ae.fullRepair.done === ae.fullRepair.total;
        },
        o.timeoutSeconds * 1000,
        250,
      );
    } catch (e) {
      if (!(e instanceof WaitTimeout)) throw e;
      failed = e.message;
      report.problem(e.message);
    }
    const ms = now() - startedAt;
    const ae = (await status(t3)).antiEntropy!;
    const n3Bytes = ae.bytesSent + ae.bytesReceived;
    const othersBytes = (await metricOver(others, 'ringkv_aae_sent_bytes_total')) + (await metricOver(others, 'ringkv_aae_received_bytes_total')) - aae0;
    const transportIn = await metricOver([t3], 'ringkv_transport_received_bytes_total');
    say(`  full repair ${failed ? 'NOT done' : 'done'} after ${seconds(ms)} s: ${ae.keysPulled.toLocaleString('en-US')} keys pulled, ${n3Bytes + othersBytes} bytes exchanged`);
    report.add(`start with an empty data directory → full repair done (${o.keys.toLocaleString('en-US')} keys)`, failed ? 'not done' : fmt.s(ms), `process start to /health ${fmt.s(healthyMs)}; ${ae.fullRepair.done} of ${ae.fullRepair.total} partitions`);
    report.add('keys pulled; rebuild rate', `${ae.keysPulled.toLocaleString('en-US')}; ${Math.round(ae.keysPulled / (ms / 1000)).toLocaleString('en-US')} keys/s, ${((n3Bytes + othersBytes) / 1e6 / (ms / 1000)).toFixed(2)} MB/s`, `limit aaeRepairBytesPerSec 16 MiB/s`);
    report.add('bytes exchanged (anti-entropy counters) / data', `${fmt.mb(n3Bytes + othersBytes)} / ${fmt.mb(dataBytes)} = ${fmt.ratio((n3Bytes + othersBytes) / dataBytes)}×`, `internode bytes received by n3 ${fmt.mb(transportIn)}; n1's data on disk ${fmt.mb(onDisk)}`);
    const sample = Array.from({ length: Math.min(o.sample, o.keys) }, (_, i) => keyName(AAE_PREFIX, Math.floor((i * o.keys) / Math.min(o.sample, o.keys))));
    const check = await replicaCheck([t3], cluster.targets, { keys: sample, valueBytes: o.valueBytes, version: (key) => versions.get(key) ?? 0, concurrency: 8, maxSeconds: Math.max(120, sample.length / 200) });
    report.add(`r=3 read of ${sample.length.toLocaleString('en-US')} sampled keys through ${n3.id}: copies it lacked`, `${check.staleReplicas}`, `missing ${check.missing}, wrong ${check.wrong}, failed ${check.errors}`);
    report.data.rebuild = { keys: o.keys, healthyMs, ms, done: !failed, keysPulled: ae.keysPulled, n3Bytes, othersBytes, transportIn, dataBytes, onDiskN1: onDisk, check };
    report.readBack(`after the rebuild, an r=3 read of sampled keys through ${n3.id}`, check, sample.length);
  };
  return report.run(body, async () => undefined);
}
