/**
 * HTTP benchmark: starts a local cluster of real node processes itself (free ports, temp data dir),
 * drives it with concurrent keep-alive clients spread over every node, and reports throughput and
 * latency percentiles for a put phase then a get phase. Then the same against a one-node cluster
 * with n=1, so the cost of replication is visible.
 *
 *   npm run bench -- [--seconds 20] [--warmup-seconds 4] [--count 200000] [--concurrency 50] [--value-bytes 100]
 *                    [--engine lsm|memory] [--nodes 3] [--skip-single]   (lsm, batch sync: the nodes' default)
 *
 * Before the measured phases, a warm-up (puts, then gets, of other keys; not reported) lets V8 compile
 * the hot paths: otherwise the put phase, which comes first, pays for the JIT.
 * Prints a progress line per second, a table, and one JSON object as the last line.
 * Note: client and nodes share this machine's cores, so absolute numbers are a floor.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { once, percentile, startBenchCluster, type Target } from './kit.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    'warmup-seconds': { type: 'string', default: '4' },
    count: { type: 'string', default: '200000' },
    concurrency: { type: 'string', default: '50' },
    'value-bytes': { type: 'string', default: '100' },
    engine: { type: 'string', default: 'lsm' },
    nodes: { type: 'string', default: '3' },
    'skip-single': { type: 'boolean', default: false },
  },
});

const SECONDS = Number(args.seconds);
const WARMUP_SECONDS = Number(args['warmup-seconds']);
const MAX_OPS = Number(args.count);
const CONCURRENCY = Number(args.concurrency);
const VALUE_BYTES = Number(args['value-bytes']);
const ENGINE = args.engine as string;
const NODES = Number(args.nodes);

interface PhaseResult {
  cluster: string;
  phase: 'put' | 'get';
  ops: number;
  errors: number;
  seconds: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}


interface PhaseOptions {
  /** keys are `<prefix>-<n>` */
  prefix: string;
  seconds: number;
}

async function runPhase(label: string, phase: 'put' | 'get', targets: Target[], keyCount: number, opts: PhaseOptions): Promise<PhaseResult> {
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  const latencies = new Float64Array(MAX_OPS);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError = '';
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  let lastDone = 0;
  const progress = setInterval(() => {
    const elapsed = (performance.now() - start) / 1000;
    process.stdout.write(`  [${label}] ${phase} ${elapsed.toFixed(0).padStart(3)} s  ${String(done).padStart(8)} ops  ${String(done - lastDone).padStart(6)} ops/s  errors ${errors}\n`);
    lastDone = done;
  }, 1000);

  async function worker(w: number): Promise<void> {
    const target = targets[w % targets.length];
    while (issued < MAX_OPS && performance.now() < deadline) {
      const i = issued++;
      const keyIndex = phase === 'put' ? i : (i * 7919) % keyCount;
      const path = `/kv/${opts.prefix}-${keyIndex}`;
      const t0 = performance.now();
      try {
        const status = await once(target, phase === 'put' ? 'PUT' : 'GET', path, phase === 'put' ? value : undefined);
        const ok = phase === 'put' ? status === 204 : status === 200;
        if (!ok) {
          errors++;
          firstError ||= `HTTP ${status} on ${phase} ${path}`;
        }
      } catch (e) {
        errors++;
        firstError ||= (e as Error).message;
      }
      latencies[done++] = performance.now() - t0;
    }
  }

  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  clearInterval(progress);
  const seconds = (performance.now() - start) / 1000;
  if (firstError) process.stdout.write(`  [${label}] ${phase}: ${errors} errors, first: ${firstError}\n`);
  const sorted = latencies.slice(0, done).sort();
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    cluster: label,
    phase,
    ops: done,
    errors,
    seconds: round(seconds),
    opsPerSec: Math.round(done / seconds),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    p999Ms: round(percentile(sorted, 0.999)),
  };
}

async function benchCluster(label: string, nodes: number, n: number): Promise<PhaseResult[]> {
  const quorum = Math.min(2, n);
  process.stdout.write(`starting ${label}: ${nodes} node process${nodes > 1 ? 'es' : ''}, n=${n} r=${quorum} w=${quorum}, engine ${ENGINE}\n`);
  const bench = await startBenchCluster(nodes, { engine: ENGINE, n, r: quorum, w: quorum }, Math.ceil(CONCURRENCY / nodes) + 1);
  const { targets } = bench;
  try {
    if (WARMUP_SECONDS > 0) {
      const warm = { prefix: 'warmup', seconds: WARMUP_SECONDS / 2 };
      const warmPuts = await runPhase(`${label} warm-up`, 'put', targets, 0, warm);
      await runPhase(`${label} warm-up`, 'get', targets, Math.max(1, warmPuts.ops), warm);
    }
    const measured = { prefix: 'bench', seconds: SECONDS };
    const put = await runPhase(label, 'put', targets, 0, measured);
    const get = await runPhase(label, 'get', targets, Math.max(1, put.ops), measured);
    return [put, get];
  } finally {
    await bench.stop();
  }
}

function table(rows: PhaseResult[]): string {
  const header = ['cluster', 'phase', 'ops', 'errors', 'ops/s', 'p50 ms', 'p99 ms', 'p99.9 ms'];
  const body = rows.map((r) => [r.cluster, r.phase, String(r.ops), String(r.errors), String(r.opsPerSec), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), r.p999Ms.toFixed(2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [header, ...body].map((row) => row.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')).join('\n');
}

const results: PhaseResult[] = [];
const mainLabel = `${NODES} nodes n=${Math.min(3, NODES)}`;
results.push(...(await benchCluster(mainLabel, NODES, Math.min(3, NODES))));
if (!args['skip-single']) results.push(...(await benchCluster('1 node n=1', 1, 1)));

process.stdout.write(`\nringkv HTTP benchmark: ${CONCURRENCY} concurrent keep-alive clients spread over the nodes, ${VALUE_BYTES}-byte values, engine ${ENGINE}, each phase up to ${MAX_OPS} ops or ${SECONDS} s after ${WARMUP_SECONDS} s of warm-up, ${cpus().length} CPUs shared by clients and nodes\n`);
process.stdout.write(`${table(results)}\n`);
process.stdout.write(
  `${JSON.stringify({ bench: 'http', engine: ENGINE, concurrency: CONCURRENCY, valueBytes: VALUE_BYTES, maxOps: MAX_OPS, maxSeconds: SECONDS, warmupSeconds: WARMUP_SECONDS, cpus: cpus().length, results })}\n`,
);
