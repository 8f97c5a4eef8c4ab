/**
 * Membership and self-healing measured on real node processes on loopback (LSM engine, the node
 * defaults unless a scenario says otherwise): the figures issues 9 and 10 ask for.
 *
 *   npm run bench:cluster-ops -- [--only detection,join,hints,aae,rebuild] [--small]
 *       [--detection-rounds 5] [--false-down-seconds 600]
 *       [--join-keys 200000] [--baseline-seconds 10] [--transfer-timeout-seconds 900]
 *       [--outage-seconds 30] [--hints-with-aae]
 *       [--aae-keys 1000000] [--aae-differing 100] [--rebuild-sample 10000]
 *       [--value-bytes 100] [--concurrency 32] [--load-concurrency 8] [--engine lsm]
 *
 * detection  5 nodes: kill -9 a node (a different one each round), time until every other node shows it
 *            down, and until up after its restart; then the false-down check under a steady load
 * join       3 nodes with --join-keys keys; a 4th joins with --join under load, then leaves
 * hints      3 nodes; kill -9 one for --outage-seconds of writes, restart: hint drain and replay rate
 * aae        3 nodes with --aae-keys keys; 100 keys differ on one node; POST /cluster/repair on it
 * rebuild    the same cluster (or a new one): a node's data directory wiped, rebuilt by anti-entropy
 *
 * --small runs every scenario at development sizes in a few minutes. Progress lines while it runs,
 * then a table and, last, one JSON line. Every node process is stopped at the end, also on a failure
 * or Ctrl-C (and a node whose parent dies stops itself: its stdin closes).
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/cli/table.js';
import { startBenchCluster, type BenchCluster } from './kit.js';
import { antiEntropy, startLoadedCluster, type LoadedCluster } from './cluster-ops/aae.js';
import { detection } from './cluster-ops/detection.js';
import { hintedHandoff } from './cluster-ops/hints.js';
import { joinLeave } from './cluster-ops/join.js';
import { rebuild } from './cluster-ops/rebuild.js';
import type { ScenarioResult } from './cluster-ops/report.js';
import { loadAverage, say } from './cluster-ops/timing.js';

const SCENARIOS = ['detection', 'join', 'hints', 'aae', 'rebuild'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: SCENARIOS.join(',') },
    small: { type: 'boolean', default: false },
    'detection-rounds': { type: 'string' },
    'false-down-seconds': { type: 'string' },
    'join-keys': { type: 'string' },
    'baseline-seconds': { type: 'string' },
    'transfer-timeout-seconds': { type: 'string', default: '900' },
    'outage-seconds': { type: 'string' },
    'hints-with-aae': { type: 'boolean', default: false },
    'aae-keys': { type: 'string' },
    'aae-differing': { type: 'string', default: '100' },
    'rebuild-sample': { type: 'string', default: '10000' },
    'value-bytes': { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '32' },
    'load-concurrency': { type: 'string', default: '8' },
    engine: { type: 'string', default: 'lsm' },
  },
});

/** a number option: given, else its --small value, else its full-size default */
function num(name: keyof typeof args, full: number, small: number): number {
  const given = args[name];
  const v = typeof given === 'string' ? Number(given) : args.small ? small : full;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number, got ${String(given)}`);
  return v;
}

const only = (args.only as string).split(',').map((s) => s.trim()) as Scenario[];
for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`--only: unknown scenario ${s} (choose from ${SCENARIOS.join(', ')})`);

const opts = {
  detectionRounds: num('detection-rounds', 5, 2),
  falseDownSeconds: num('false-down-seconds', 600, 20),
  joinKeys: num('join-keys', 200_000, 5_000),
  baselineSeconds: num('baseline-seconds', 10, 3),
  transferTimeoutSeconds: num('transfer-timeout-seconds', 900, 900),
  outageSeconds: num('outage-seconds', 30, 5),
  aaeKeys: num('aae-keys', 1_000_000, 20_000),
  aaeDiffering: num('aae-differing', 100, 100),
  rebuildSample: num('rebuild-sample', 10_000, 10_000),
  valueBytes: num('value-bytes', 100, 100),
  concurrency: num('concurrency', 32, 32),
  loadConcurrency: num('load-concurrency', 8, 8),
  engine: args.engine as string,
  hintsWithAae: args['hints-with-aae'] as boolean,
};

// every cluster started is stopped at the end, on a failure, or on Ctrl-C / SIGTERM
const running = new Set<BenchCluster>();
async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop().catch(() => undefined)));
  running.clear();
}
async function start(nodes: number, settings: Record<string, string | number | boolean> = {}): Promise<BenchCluster> {
  const cluster = await startBenchCluster(nodes, { engine: opts.engine, ...settings }, opts.concurrency);
  let stopped: Promise<void> | undefined;
  const tracked: BenchCluster = { ...cluster, stop: () => (stopped ??= cluster.stop().finally(() => running.delete(tracked))) };
  running.add(tracked);
  return tracked;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`\n${signal}: stopping every node`);
    void stopAll().finally(() => process.exit(130));
  });
}

const results: ScenarioResult[] = [];
const loadAtStart = loadAverage();
say(`cluster-ops: ${only.join(', ')}; engine ${opts.engine}; ${cpus().length} CPUs shared by the nodes and this client; load average ${loadAtStart}`);
try {
  const common = { valueBytes: opts.valueBytes, start };
  if (only.includes('detection')) {
    results.push(await detection({ ...common, nodes: 5, rounds: opts.detectionRounds, falseDownSeconds: opts.falseDownSeconds, concurrency: opts.loadConcurrency }));
  }
  if (only.includes('join')) {
    results.push(await joinLeave({ ...common, keys: opts.joinKeys, preloadConcurrency: opts.concurrency, loadConcurrency: opts.loadConcurrency, baselineSeconds: opts.baselineSeconds, transferTimeoutSeconds: opts.transferTimeoutSeconds }));
  }
  if (only.includes('hints')) {
    results.push(await hintedHandoff({ ...common, outageSeconds: opts.outageSeconds, concurrency: opts.loadConcurrency, drainTimeoutSeconds: 600, withAae: opts.hintsWithAae }));
  }
  if (only.includes('aae') || only.includes('rebuild')) {
    const aaeOpts = { ...common, keys: opts.aaeKeys, differing: opts.aaeDiffering, concurrency: opts.concurrency, loadConcurrency: opts.loadConcurrency, baselineSeconds: opts.baselineSeconds, repairTimeoutSeconds: 600 };
    const loaded: LoadedCluster = await startLoadedCluster(aaeOpts, only.includes('aae') ? 'aae' : 'rebuild');
    try {
      if (only.includes('aae')) results.push(await antiEntropy(aaeOpts, loaded));
      if (only.includes('rebuild')) results.push(await rebuild({ keys: opts.aaeKeys, valueBytes: opts.valueBytes, sample: opts.rebuildSample, timeoutSeconds: 1800 }, loaded));
    } finally {
      await loaded.cluster.stop();
    }
  }
} finally {
  await stopAll();
}

const rows = results.flatMap((r) => r.figures.map((f) => [r.scenario, f.figure, f.value, f.note ?? '']));
say(`\nringkv cluster operations: real node processes on loopback, engine ${opts.engine}, ${opts.valueBytes}-byte values; load average ${loadAtStart} at the start, ${loadAverage()} at the end (${cpus().length} CPUs)`);
process.stdout.write(formatTable(['scenario', 'figure', 'value', 'note'], rows));
const problems = results.flatMap((r) => r.problems.map((p) => `${r.scenario}: ${p}`));
say(problems.length === 0 ? 'problems: none' : `problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
say(JSON.stringify({ bench: 'cluster-ops', options: { ...opts, only }, cpus: cpus().length, loadAvg: { start: loadAtStart, end: loadAverage() }, scenarios: results, problems }));
