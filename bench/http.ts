/**
 * HTTP benchmark: starts a local cluster of real node processes itself (free ports, temp data dir),
 * drives it with concurrent keep-alive clients spread over every node, and reports throughput and
 * latency percentiles for a put phase then a get phase. Then the same against a one-node cluster
 * with n=1 (the ceiling without replication), and against a fastify server whose routes do nothing
 * (noop-http-server.ts: the ceiling of the HTTP layer), driven by the same client in the same run —
 * the ratios to it are what the performance targets use.
 *
 *   npm run bench -- [--seconds 20] [--warmup-seconds 4] [--count 200000] [--concurrency 50] [--value-bytes 100]
 *                    [--engine lsm|memory] [--nodes 3] [--skip-single] [--skip-noop] [--cpu-prof]
 *
 * --cpu-prof runs every node under `node --cpu-prof` and prints, per cluster and phase, the CPU µs per
 * operation of each layer (front end, coordination, messaging, serialization, storage: see
 * cpu-layers.ts), summed over the nodes and cut to the measured phase.
 *
 * --overload then measures the main cluster's put capacity (closed loop with --capacity-concurrency
 * clients, so latency does not cap it) and drives it open-loop — puts sent at a fixed rate whatever the
 * answers, latency counted from when each was due — at 0.5×, 1×, 2× and 4× that rate (or at
 * --rate <puts/s> only), each for --open-seconds, with timeout_ms=--open-timeout-ms on every request:
 * throughput of successes, refusals (503 OVERLOADED), p50/p99 of successes, and the nodes' peak
 * resident memory. The client shares the machine: the rate it really sent is reported beside the one
 * asked for. It keeps at most 512 connections per node: requests beyond wait in the client, which
 * drops those still waiting at their deadline (timeout_ms after they were due) — they never reached a
 * node; a request sent is never abandoned (that would cost its connection).
 *
 * Before the measured phases, a warm-up (puts, then gets, of other keys; not reported) lets V8 compile
 * the hot paths: otherwise the put phase, which comes first, pays for the JIT.
 * Prints a progress line per second, a table, and one JSON object as the last line.
 * Note: client and nodes share this machine's cores, so absolute numbers are a floor.
 */
import { spawn } from 'node:child_process';
import { Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { once, percentile, startBenchCluster, type Target } from './kit.js';
import { formatLayers, layersPerOp, processCpuUs, readProfiles, scaledToCpu, type Layer, type LayerTimes } from './cpu-layers.js';

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
    'skip-noop': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    overload: { type: 'boolean', default: false },
    rate: { type: 'string' },
    'open-seconds': { type: 'string', default: '10' },
    'open-timeout-ms': { type: 'string', default: '1000' },
    'capacity-concurrency': { type: 'string', default: '256' },
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
  /** process.hrtime() µs at the start and end of the phase (to cut CPU profiles) */
  fromUs: number;
  toUs: number;
  /** CPU µs per operation used by the server processes (every node, every thread) during the phase */
  serverCpuUsPerOp: number;
  /** per server process: CPU µs used during the phase */
  serverCpuUs: Record<number, number>;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface PhaseOptions {
  /** keys are `<prefix>-<n>` */
  prefix: string;
  seconds: number;
  /** clients in the closed loop @default --concurrency */
  concurrency?: number;
}

async function runPhase(label: string, phase: 'put' | 'get', targets: Target[], keyCount: number, opts: PhaseOptions, serverPids: number[]): Promise<PhaseResult> {
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  const latencies = new Float64Array(MAX_OPS);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError = '';
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  let lastDone = 0;
  const cpuBefore = serverPids.map(processCpuUs);
  const fromUs = nowUs();
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

  await Promise.all(Array.from({ length: opts.concurrency ?? CONCURRENCY }, (_, w) => worker(w)));
  const toUs = nowUs();
  const serverCpuUs: Record<number, number> = {};
  let serverCpuTotal = 0;
  serverPids.forEach((pid, i) => {
    serverCpuUs[pid] = processCpuUs(pid) - cpuBefore[i];
    serverCpuTotal += serverCpuUs[pid];
  });
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
    fromUs,
    toUs,
    serverCpuUsPerOp: Math.round(serverCpuTotal / Math.max(1, done)),
    serverCpuUs,
  };
}

/** Warm-up (not reported), then the measured put and get phases. */
async function putThenGet(label: string, targets: Target[], serverPids: number[]): Promise<[PhaseResult, PhaseResult]> {
  if (WARMUP_SECONDS > 0) {
    const warm = { prefix: 'warmup', seconds: WARMUP_SECONDS / 2 };
    const warmPuts = await runPhase(`${label} warm-up`, 'put', targets, 0, warm, serverPids);
    await runPhase(`${label} warm-up`, 'get', targets, Math.max(1, warmPuts.ops), warm, serverPids);
  }
  const measured = { prefix: 'bench', seconds: SECONDS };
  const put = await runPhase(label, 'put', targets, 0, measured, serverPids);
  const get = await runPhase(label, 'get', targets, Math.max(1, put.ops), measured, serverPids);
  return [put, get];
}

function targetsFor(addresses: Array<{ host: string; port: number }>, concurrency = CONCURRENCY): Target[] {
  const perNode = Math.ceil(concurrency / addresses.length) + 1;
  return addresses.map((a) => ({ host: a.host, port: a.port, agent: new Agent({ keepAlive: true, maxSockets: perNode }) }));
}

/** CPU per layer of one cluster's measured phases, from its nodes' profiles */
interface PhaseLayers {
  put: Record<Layer | 'total', number>;
  get: Record<Layer | 'total', number>;
}

const layerResults: Record<string, PhaseLayers> = {};
const layerTables: string[] = [];

function profilePhases(label: string, profileDir: string, nodes: Array<{ id: string; pid: number }>, phases: PhaseResult[]): void {
  const out: Partial<PhaseLayers> = {};
  for (const p of phases) {
    const times: LayerTimes[] = [];
    for (const { id, pid } of nodes) {
      const profiles = readProfiles(join(profileDir, id), p.fromUs, p.toUs).map((t) => ({ ...t, file: `${id}/${t.file}` }));
      times.push(...scaledToCpu(profiles, p.serverCpuUs[pid] ?? 0));
    }
    layerTables.push(`${label}, ${p.phase}:\n${formatLayers(times, p.ops)}`);
    out[p.phase] = layersPerOp(times, p.ops);
  }
  layerResults[label] = out as PhaseLayers;
}

interface OpenLoopResult {
  cluster: string;
  /** multiple of the sustained closed-loop put rate, or null for an explicit --rate */
  loadFactor: number | null;
  offeredPerSec: number;
  /** what the client managed to send per second (it shares the machine) */
  sentPerSec: number;
  okPerSec: number;
  refusedPerSec: number;
  /** requests the client dropped at their deadline while they still waited for a connection of its pool */
  clientTimeoutsPerSec: number;
  errorsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** the largest resident set of any node during the phase */
  peakNodeRssBytes: number;
  firstError: string;
}

const openLoopResults: OpenLoopResult[] = [];
/** enough connections that the server, not the client, is where requests wait (the nodes admit 256 each) */
const OPEN_LOOP_SOCKETS_PER_NODE = 512;
/** the closed-loop put phases with --capacity-concurrency clients the open-loop rates are based on */
const capacityResults: PhaseResult[] = [];

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Puts sent at `rate` per second for `seconds`, whatever the answers (open loop): each is due at its
 * slot in the schedule and its latency counts from then, so a slow server shows as latency, not as a
 * slower client. Sockets are plentiful (so requests queue at the server, not in the client).
 */
async function runOpenLoop(label: string, loadFactor: number | null, addresses: Array<{ host: string; port: number }>, rate: number, seconds: number, pids: number[]): Promise<OpenLoopResult> {
  // a client keeps a bounded pool: beyond it requests wait in the client (their latency still counts)
  const targets = addresses.map((a) => ({ ...a, agent: new Agent({ keepAlive: true, maxSockets: OPEN_LOOP_SOCKETS_PER_NODE }) }));
  const value = Buffer.alloc(VALUE_BYTES, 'o');
  const timeoutMs = Number(args['open-timeout-ms']);
  const total = Math.max(1, Math.round(rate * seconds));
  const latencies: number[] = [];
  let ok = 0;
  let refused = 0;
  let clientTimeouts = 0;
  let errors = 0;
  let firstError = '';
  let peakRss = 0;
  let lastOk = 0;
  let lastRefused = 0;
  let ticks = 0;
  const rssTimer = setInterval(() => {
    for (const pid of pids) peakRss = Math.max(peakRss, rssBytes(pid));
    if (++ticks % 4 === 0) {
      const recent = latencies.slice(-200).sort((x, y) => x - y);
      process.stdout.write(`  [${label}] open ${rate.toFixed(0)}/s ${(ticks / 4).toFixed(0).padStart(3)} s: sent ${sent}, ok +${ok - lastOk}, refused +${refused - lastRefused}, in flight ${sent - ok - refused - clientTimeouts - errors}, client timeouts ${clientTimeouts}, recent p50 ${(recent[recent.length >> 1] ?? 0).toFixed(0)} ms\n`);
      lastOk = ok;
      lastRefused = refused;
    }
  }, 250);
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  const tag = `open${Math.round(rate)}`;
  let sendingEnded = start;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      for (; sent < due; sent++) {
        const i = sent;
        const dueAt = start + (i / rate) * 1000;
        const target = targets[i % targets.length];
        inFlight.push(
          // the deadline runs from when the request was due, like the server's timeout_ms
          once(target, 'PUT', `/kv/${tag}-${i}?timeout_ms=${timeoutMs}`, value, false, dueAt + timeoutMs).then(
            (status) => {
              if (status === 204) {
                ok++;
                latencies.push(performance.now() - dueAt);
              } else if (status === 503) refused++;
              else {
                errors++;
                firstError ||= `HTTP ${status}`;
              }
            },
            (e: unknown) => {
              if ((e as Error).name === 'ClientTimeout') clientTimeouts++;
              else {
                errors++;
                firstError ||= (e as Error).message;
              }
            },
          ),
        );
      }
      if (sent >= total) {
        sendingEnded = performance.now();
        resolve();
      } else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  clearInterval(rssTimer);
  for (const pid of pids) peakRss = Math.max(peakRss, rssBytes(pid));
  for (const t of targets) t.agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const round = (x: number): number => Math.round(x * 100) / 100;
  const result: OpenLoopResult = {
    cluster: label,
    loadFactor,
    offeredPerSec: Math.round(total / seconds),
    sentPerSec: Math.round(total / Math.max(seconds, (sendingEnded - start) / 1000)),
    okPerSec: Math.round(ok / elapsed),
    refusedPerSec: Math.round(refused / elapsed),
    clientTimeoutsPerSec: Math.round(clientTimeouts / elapsed),
    errorsPerSec: Math.round(errors / elapsed),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    peakNodeRssBytes: peakRss,
    firstError,
  };
  process.stdout.write(`  [${label}] open loop ${loadFactor === null ? '' : `${loadFactor}× `}${result.offeredPerSec}/s offered (${result.sentPerSec}/s sent): ${result.okPerSec}/s ok, ${result.refusedPerSec}/s refused, ${result.clientTimeoutsPerSec}/s client timeouts, ${result.errorsPerSec}/s errors, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, peak node RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB\n`);
  return result;
}

async function benchCluster(label: string, nodes: number, n: number): Promise<PhaseResult[]> {
  const quorum = Math.min(2, n);
  process.stdout.write(`starting ${label}: ${nodes} node process${nodes > 1 ? 'es' : ''}, n=${n} r=${quorum} w=${quorum}, engine ${ENGINE}\n`);
  const profileDirOf = (baseDir: string): string => join(baseDir, 'cpu-profiles');
  const bench = await startBenchCluster(nodes, { engine: ENGINE, n, r: quorum, w: quorum }, Math.ceil(CONCURRENCY / nodes) + 1, {
    ...(args['cpu-prof'] ? { nodeArgs: (id: string, baseDir: string) => ['--cpu-prof', `--cpu-prof-dir=${join(profileDirOf(baseDir), id)}`] } : {}),
  });
  const { cluster, targets } = bench;
  const nodePids = cluster.nodes.map((n) => ({ id: n.id, pid: n.pid ?? 0 }));
  let phases: PhaseResult[] = [];
  try {
    phases = await putThenGet(label, targets, nodePids.map((n) => n.pid));
    if ((args.overload || args.rate !== undefined) && nodes === NODES) {
      const addresses = cluster.nodes.map((node) => ({ host: node.spec.host, port: node.spec.httpPort }));
      const pids = nodePids.map((p) => p.pid);
      const seconds = Number(args['open-seconds']);
      if (args.rate !== undefined) openLoopResults.push(await runOpenLoop(label, null, addresses, Number(args.rate), seconds, pids));
      else {
        const concurrency = Number(args['capacity-concurrency']);
        const capacityTargets = targetsFor(addresses, concurrency);
        const capacity = await runPhase(`${label} capacity`, 'put', capacityTargets, 0, { prefix: 'capacity', seconds, concurrency }, pids);
        for (const t of capacityTargets) t.agent.destroy();
        capacityResults.push(capacity);
        for (const factor of [0.5, 1, 2, 4]) openLoopResults.push(await runOpenLoop(label, factor, addresses, factor * capacity.opsPerSec, seconds, pids));
      }
    }
    return phases;
  } finally {
    // a clean stop: each node writes its CPU profile as it exits (a long profile takes a while)
    if (args['cpu-prof']) {
      for (const t of targets) t.agent.destroy();
      await cluster.stop(60_000);
      if (phases.length > 0) profilePhases(label, profileDirOf(bench.baseDir), nodePids, phases);
    }
    await bench.stop();
  }
}

/** The same client against noop-http-server.ts (one process), for the ratio to the HTTP layer's ceiling. */
async function benchNoop(label: string): Promise<PhaseResult[]> {
  process.stdout.write(`starting ${label}: fastify with ringkv's HTTP settings and handlers that do nothing\n`);
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'noop-http-server.js');
  const child = spawn(process.execPath, [script, '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = /^listening (\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`noop server exited (code ${code})`)));
    });
    const targets = targetsFor([{ host: '127.0.0.1', port }]);
    try {
      return await putThenGet(label, targets, child.pid === undefined ? [] : [child.pid]);
    } finally {
      for (const t of targets) t.agent.destroy();
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

function opsOf(rows: PhaseResult[], cluster: string, phase: 'put' | 'get'): number | undefined {
  return rows.find((r) => r.cluster === cluster && r.phase === phase)?.opsPerSec;
}

function table(rows: PhaseResult[]): string {
  const header = ['cluster', 'phase', 'ops', 'errors', 'ops/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'server CPU µs/op'];
  const body = rows.map((r) => [r.cluster, r.phase, String(r.ops), String(r.errors), String(r.opsPerSec), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), r.p999Ms.toFixed(2), String(r.serverCpuUsPerOp)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [header, ...body].map((row) => row.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')).join('\n');
}

const results: PhaseResult[] = [];
const loadBefore = loadavg()[0];
const mainLabel = `${NODES} nodes n=${Math.min(3, NODES)}`;
const singleLabel = '1 node n=1';
const noopLabel = 'no-op fastify';
results.push(...(await benchCluster(mainLabel, NODES, Math.min(3, NODES))));
if (!args['skip-single']) results.push(...(await benchCluster(singleLabel, 1, 1)));
if (!args['skip-noop']) results.push(...(await benchNoop(noopLabel)));
const loadAfter = loadavg()[0];

const ratios: Record<string, number> = {};
for (const phase of ['put', 'get'] as const) {
  const noop = opsOf(results, noopLabel, phase);
  for (const [name, label] of [[`${NODES}node`, mainLabel], ['1node', singleLabel]]) {
    const ops = opsOf(results, label, phase);
    if (ops !== undefined && noop) ratios[`${name}_${phase}_vs_noop`] = Number((ops / noop).toFixed(3));
  }
  const main = opsOf(results, mainLabel, phase);
  const single = opsOf(results, singleLabel, phase);
  if (main !== undefined && single) ratios[`${NODES}node_${phase}_vs_1node`] = Number((main / single).toFixed(3));
}

process.stdout.write(`\nringkv HTTP benchmark: ${CONCURRENCY} concurrent keep-alive clients spread over the nodes, ${VALUE_BYTES}-byte values, engine ${ENGINE}, each phase up to ${MAX_OPS} ops or ${SECONDS} s after ${WARMUP_SECONDS} s of warm-up, ${cpus().length} CPUs shared by clients and nodes; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after\n`);
process.stdout.write(`${table(results)}\n`);
if (Object.keys(ratios).length > 0) {
  process.stdout.write(`\nratios (same run): ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}\n`);
}
if (openLoopResults.length > 0) {
  for (const c of capacityResults) process.stdout.write(`\nput capacity (closed loop, ${args['capacity-concurrency']} clients): ${c.opsPerSec}/s, p50 ${c.p50Ms} ms, p99 ${c.p99Ms} ms, ${c.errors} errors`);
  process.stdout.write(`\nopen loop (puts at a fixed rate, timeout_ms=${args['open-timeout-ms']}, latency from each put's due time):\n`);
  process.stdout.write(`${'cluster'.padEnd(14)} ${'load'.padStart(5)} ${'offered/s'.padStart(10)} ${'sent/s'.padStart(8)} ${'ok/s'.padStart(8)} ${'refused/s'.padStart(10)} ${'client t/o/s'.padStart(12)} ${'errors/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'peak node RSS MiB'.padStart(18)}\n`);
  for (const o of openLoopResults) {
    process.stdout.write(`${o.cluster.padEnd(14)} ${(o.loadFactor === null ? '-' : `${o.loadFactor}×`).padStart(5)} ${String(o.offeredPerSec).padStart(10)} ${String(o.sentPerSec).padStart(8)} ${String(o.okPerSec).padStart(8)} ${String(o.refusedPerSec).padStart(10)} ${String(o.clientTimeoutsPerSec).padStart(12)} ${String(o.errorsPerSec).padStart(9)} ${o.p50Ms.toFixed(2).padStart(8)} ${o.p99Ms.toFixed(2).padStart(8)} ${(o.peakNodeRssBytes / 2 ** 20).toFixed(0).padStart(18)}\n`);
  }
  const peak = Math.max(...openLoopResults.map((o) => o.okPerSec));
  const atFour = openLoopResults.find((o) => o.loadFactor === 4);
  if (atFour !== undefined && peak > 0) {
    ratios.open_loop_4x_ok_vs_peak = Number((atFour.okPerSec / peak).toFixed(3));
    process.stdout.write(`successes at 4× / the best open-loop rate: ${ratios.open_loop_4x_ok_vs_peak}\n`);
  }
}
for (const t of layerTables) process.stdout.write(`\n${t}\n`);
process.stdout.write(
  `${JSON.stringify({ bench: 'http', engine: ENGINE, concurrency: CONCURRENCY, valueBytes: VALUE_BYTES, maxOps: MAX_OPS, maxSeconds: SECONDS, warmupSeconds: WARMUP_SECONDS, cpus: cpus().length, loadAverage: { before: loadBefore, after: loadAfter }, results, ratios, cpuUsPerOpByLayer: layerResults, capacity: capacityResults, openLoop: openLoopResults })}\n`,
);
