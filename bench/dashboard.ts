/**
 * What an open dashboard costs a node: a 3-node cluster, idle then under a steady put/get load spread
 * over every node, in phases with 0, 1 and 10 dashboards open on n1 (and 0 again at the end). Idle,
 * the dashboards' own CPU cost stands out; loaded, their effect on throughput. A dashboard here does
 * what the page does over the network — it loads the page and its assets, asks /cluster/overview with
 * five minutes of history once, then reads the /ui/events stream — without a browser, whose own CPU
 * would land on the same two cores as the nodes.
 *
 *   npm run bench:dashboard -- [--phase-seconds 10] [--concurrency 16] [--engine lsm|memory]
 *
 * Per phase: cluster throughput, the CPU each node process used (from /proc, user + system), the
 * 1-minute load average at the end of the phase. The machine is shared: compare phases of one run.
 * Prints a line per phase, a table, and one JSON object as the last line.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { once, startBenchCluster, type Target } from './kit.js';

const { values: args } = parseArgs({
  options: {
    'phase-seconds': { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    engine: { type: 'string', default: 'lsm' },
  },
});
const PHASE_SECONDS = Number(args['phase-seconds']);
const CONCURRENCY = Number(args.concurrency);
/** idle first (the dashboards' own cost stands out), then under load (their effect on throughput) */
const PHASES: Array<{ load: boolean; dashboards: number }> = [
  { load: false, dashboards: 0 },
  { load: false, dashboards: 1 },
  { load: false, dashboards: 10 },
  { load: true, dashboards: 0 },
  { load: true, dashboards: 1 },
  { load: true, dashboards: 10 },
  { load: true, dashboards: 0 },
];
/** Linux clock ticks per second for /proc/<pid>/stat */
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // fields after the command: state is [0], utime [11], stime [12]
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** one simulated dashboard: the page, its assets, the overview with history, then the live stream */
async function openDashboard(base: string, signal: AbortSignal, counters: { events: number; bytes: number }): Promise<void> {
  for (const path of ['/ui', '/ui/assets/app.js', '/ui/assets/render.js', '/ui/assets/stream.js', '/ui/assets/style.css', '/ui/assets/uplot.js', '/ui/assets/uplot.css', '/ui/session', '/cluster/overview?series=299']) {
    const res = await fetch(base + path, { signal });
    counters.bytes += (await res.arrayBuffer()).byteLength;
  }
  const res = await fetch(`${base}/ui/events`, { signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    counters.bytes += value.byteLength;
    counters.events += (decoder.decode(value, { stream: true }).match(/\nevent: overview\n|^event: overview\n/g) ?? []).length;
  }
}

interface PhaseResult {
  load: boolean;
  dashboards: number;
  ops: number;
  errors: number;
  opsPerSec: number;
  cpuPercent: Record<string, number>;
  streamEvents: number;
  streamKiBPerSec: number;
  loadAvg1m: number;
}

async function main(): Promise<void> {
  process.stdout.write(`starting 3 node processes (engine ${args.engine}); ${PHASE_SECONDS} s per phase, ${CONCURRENCY} clients\n`);
  const bench = await startBenchCluster(3, { engine: args.engine as string, n: 3, r: 2, w: 2 }, Math.ceil(CONCURRENCY / 3) + 1);
  const { cluster, targets } = bench;
  const base = `http://${targets[0].host}:${targets[0].port}`;
  let stopLoad = false;
  let loadOn = false;
  let ops = 0;
  let errors = 0;
  const value = Buffer.alloc(100, 'v');
  const worker = async (w: number): Promise<void> => {
    const target: Target = targets[w % targets.length];
    for (let i = 0; !stopLoad; i++) {
      if (!loadOn) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const key = `/kv/dash-${w}-${i % 1000}`;
      try {
        const status = i % 2 === 0 ? await once(target, 'PUT', key, value) : await once(target, 'GET', key, undefined);
        if (status >= 500) errors++;
        else ops++;
      } catch {
        errors++;
      }
    }
  };
  const load = Array.from({ length: CONCURRENCY }, (_, w) => worker(w));
  const results: PhaseResult[] = [];
  try {
    // warm-up: JIT and the first SSTables, not measured
    loadOn = true;
    await new Promise((r) => setTimeout(r, 4000));
    for (const { load: withLoad, dashboards } of PHASES) {
      loadOn = withLoad;
      const controller = new AbortController();
      const counters = { events: 0, bytes: 0 };
      const pids = Object.fromEntries(cluster.nodes.map((n) => [n.id, n.pid!]));
      const cpu0 = Object.fromEntries(Object.entries(pids).map(([id, pid]) => [id, cpuSeconds(pid)]));
      const ops0 = ops;
      const errors0 = errors;
      const started = performance.now();
      const open = Array.from({ length: dashboards }, () => openDashboard(base, controller.signal, counters).catch(() => undefined));
      for (let s = 1; s <= PHASE_SECONDS; s++) {
        await new Promise((r) => setTimeout(r, 1000));
        if (process.stdout.isTTY) process.stdout.write(`  ${withLoad ? 'loaded' : 'idle'}, ${dashboards} dashboard(s): ${s}/${PHASE_SECONDS} s, ${Math.round((ops - ops0) / s)} ops/s\r`);
      }
      const seconds = (performance.now() - started) / 1000;
      const cpuPercent = Object.fromEntries(Object.entries(pids).map(([id, pid]) => [id, Math.round(((cpuSeconds(pid) - cpu0[id]) / seconds) * 1000) / 10]));
      controller.abort();
      await Promise.all(open);
      const r: PhaseResult = {
        load: withLoad,
        dashboards,
        ops: ops - ops0,
        errors: errors - errors0,
        opsPerSec: Math.round((ops - ops0) / seconds),
        cpuPercent,
        streamEvents: counters.events,
        streamKiBPerSec: Math.round((counters.bytes / 1024 / seconds) * 10) / 10,
        loadAvg1m: Math.round(loadavg()[0] * 100) / 100,
      };
      results.push(r);
      process.stdout.write(`${process.stdout.isTTY ? '\n' : ''}  ${withLoad ? 'loaded' : 'idle'}, ${dashboards} dashboard(s): ${r.opsPerSec} ops/s, CPU n1 ${cpuPercent.n1} % n2 ${cpuPercent.n2} % n3 ${cpuPercent.n3} %, ${r.streamEvents} events, load ${r.loadAvg1m}\n`);
    }
  } finally {
    stopLoad = true;
    await Promise.all(load);
    await bench.stop();
  }
  const header = ['load', 'dashboards', 'ops/s', 'errors', 'n1 CPU %', 'n2 CPU %', 'n3 CPU %', 'events', 'KiB/s to dashboards', 'load avg 1m'];
  const rows = results.map((r) => [r.load ? 'yes' : 'idle', r.dashboards, r.opsPerSec, r.errors, r.cpuPercent.n1, r.cpuPercent.n2, r.cpuPercent.n3, r.streamEvents, r.streamKiBPerSec, r.loadAvg1m].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  process.stdout.write(`\n${[header, ...rows].map((r) => r.map((c, i) => c.padStart(widths[i])).join('  ')).join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'dashboard', phaseSeconds: PHASE_SECONDS, concurrency: CONCURRENCY, engine: args.engine, phases: results })}\n`);
}

await main();
