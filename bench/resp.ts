/**
 * `npm run bench:resp`: redis-benchmark against a local 3-node ringkv cluster (RESP port of n1), against
 * a redis-server started on the same machine in the same run, and against the RESP front end alone
 * (RespServer in this process over an in-memory map: the protocol layer's own ceiling), then the
 * ratios ringkv / redis.
 *
 *   redis-benchmark -t <set|get> -n 200000 -c 50 -d 100 -r 100000 --csv      (then again with -P 16)
 *
 *   npm run bench:resp -- [--single-key] [--keyspace 100000] [--requests 200000] [--clients 50]
 *                         [--engine lsm|memory] [--cpu-prof]
 *
 * Keys are random over --keyspace keys (redis-benchmark -r), the way most users' keys look; the named
 * variant --single-key drops -r, so every request hits one key (which ringkv's same-key combiners
 * flatter). Each test (SET, GET) runs on its own, so the CPU the nodes use is measured per test
 * (server CPU µs per request, all three nodes); --cpu-prof profiles the nodes and prints per test the
 * CPU µs per request of each layer (see cpu-layers.ts). The environment variables RESP_BENCH_REQUESTS,
 * RESP_BENCH_CLIENTS, RESP_BENCH_ENGINE and RESP_BENCH_KEYSPACE set the same as the flags. Needs
 * redis-server and redis-benchmark (Debian: apt-get install -y redis-server redis-tools).
 * Prints a table, then one JSON object as the last line.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { pino } from 'pino';
import type { GetResult, KvService } from '../src/cluster/kv-service.js';
import { RespServer } from '../src/api/resp/server.js';
import { freePorts } from '../src/cli/free-port.js';
import { LocalCluster, planLocalCluster } from '../src/cli/local-cluster.js';
import { formatLayers, layersPerOp, processCpuUs, readProfiles, scaledToCpu, type Layer, type LayerTimes } from './cpu-layers.js';

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    'single-key': { type: 'boolean', default: false },
    keyspace: { type: 'string', default: process.env.RESP_BENCH_KEYSPACE ?? '100000' },
    requests: { type: 'string', default: process.env.RESP_BENCH_REQUESTS ?? '200000' },
    clients: { type: 'string', default: process.env.RESP_BENCH_CLIENTS ?? '50' },
    engine: { type: 'string', default: process.env.RESP_BENCH_ENGINE },
    'cpu-prof': { type: 'boolean', default: false },
  },
});

const REQUESTS = Number(args.requests);
const CLIENTS = Number(args.clients);
const DATA_BYTES = 100;
const ENGINE = args.engine;
const KEYSPACE = args['single-key'] ? undefined : Number(args.keyspace);
const TESTS = ['SET', 'GET'] as const;
/** a node writing a long CPU profile at exit may take longer than a normal stop */
const PROFILE_STOP_GRACE_MS = 60_000;
type Test = (typeof TESTS)[number];

interface Figures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

interface Row {
  scenario: string;
  test: Test;
  ringkv: Figures;
  redis: Figures;
  /** the RESP front end alone over an in-memory KvService */
  frontend: Figures;
  ratio: number;
  frontendRatio: number;
  /** CPU µs per request used by the three nodes while ringkv ran this test */
  ringkvServerCpuUsPerOp: number;
  /** with --cpu-prof: the same split by layer */
  ringkvLayers?: Record<Layer | 'total', number>;
}

/** the smallest KvService: one map, one version per key (enough to time the protocol layer alone) */
function inMemoryKv(): KvService {
  const data = new Map<string, Uint8Array>();
  const name = (k: Uint8Array): string => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');
  const counters = new Map<string, bigint>();
  return {
    async get(key): Promise<GetResult> {
      const v = data.get(name(key));
      return v === undefined ? { siblings: [], context: '' } : { siblings: [{ kind: 'bytes', value: v, hlcWallMs: 0, hlcLogical: 0, writer: 'bench' }], context: 'c' };
    },
    async put(key, value) {
      data.set(name(key), value);
      return { context: 'c' };
    },
    async delete(key) {
      data.delete(name(key));
    },
    async increment(key, delta) {
      const next = (counters.get(name(key)) ?? 0n) + delta;
      counters.set(name(key), next);
      return next;
    },
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function hasBinary(name: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolveReady, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready within ${timeoutMs} ms; output:\n${seen.slice(-2000)}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (seen += d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited early (code ${code}, signal ${signal}); output:\n${seen.slice(-2000)}`));
    });
  });
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** redis-benchmark --csv: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms" */
function parseCsv(text: string): Map<string, Figures> {
  const rows = new Map<string, Figures>();
  for (const line of text.trim().split('\n').slice(1)) {
    const cells = line.split(',').map((c) => c.replaceAll('"', ''));
    if (cells.length < 7) continue;
    rows.set(cells[0], { rps: Number(cells[1]), p50Ms: Number(cells[4]), p99Ms: Number(cells[6]) });
  }
  return rows;
}

interface Run {
  figures: Figures;
  fromUs: number;
  toUs: number;
  /** CPU µs each watched process used during the run */
  cpuUs: number[];
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** One redis-benchmark run of one test against a port, timing the CPU of `watchPids` meanwhile. */
async function benchmark(port: number, test: Test, extra: string[], label: string, watchPids: number[] = []): Promise<Run> {
  const cmdArgs = ['-h', '127.0.0.1', '-p', String(port), '-t', test.toLowerCase(), '-n', String(REQUESTS), '-c', String(CLIENTS), '-d', String(DATA_BYTES), '--csv', ...extra];
  if (KEYSPACE !== undefined) cmdArgs.push('-r', String(KEYSPACE));
  log(`[bench:resp] ${label}: redis-benchmark ${cmdArgs.join(' ')}`);
  const started = Date.now();
  const progress = setInterval(() => log(`[bench:resp]   … ${label} still running (${Math.round((Date.now() - started) / 1000)} s)`), 15_000);
  const cpuBefore = watchPids.map(processCpuUs);
  const fromUs = nowUs();
  try {
    const { stdout } = await run('redis-benchmark', cmdArgs, { maxBuffer: 16 * 1024 * 1024 });
    const toUs = nowUs();
    const figures = parseCsv(stdout).get(test);
    if (figures === undefined) throw new Error(`unexpected redis-benchmark output:\n${stdout}`);
    log(`[bench:resp]   done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${test} ${figures.rps} req/s`);
    return { figures, fromUs, toUs, cpuUs: watchPids.map((pid, i) => processCpuUs(pid) - cpuBefore[i]) };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`redis-benchmark failed against ${label}: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  } finally {
    clearInterval(progress);
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<void> {
  const missing = [];
  for (const bin of ['redis-server', 'redis-benchmark']) if (!(await hasBinary(bin))) missing.push(bin);
  if (missing.length > 0) {
    console.log(`bench:resp needs ${missing.join(', ')} (Debian: apt-get install -y redis-server redis-tools)`);
    console.log(JSON.stringify({ bench: 'resp', error: `missing ${missing.join(', ')}` }));
    process.exitCode = 1;
    return;
  }

  const ports = await freePorts(10);
  const redisPort = ports[9];
  const baseDir = mkdtempSync(join(tmpdir(), 'ringkv-bench-resp-'));
  const profileDir = join(baseDir, 'cpu-profiles');
  let cluster: LocalCluster | undefined;
  let redis: ChildProcess | undefined;
  const frontend = new RespServer({
    kv: inMemoryKv(),
    host: '127.0.0.1',
    port: 0,
    maxValueBytes: 1024 * 1024,
    maxKeyBytes: 1024,
    nodeId: 'bench',
    logger: pino({ level: 'silent' }),
    info: () => ({ nodeId: 'bench', members: [], ringPartitions: 1, n: 1, r: 1, w: 1, keysEstimate: 0, uptimeMs: 0 }),
  });
  const cleanup = async (): Promise<void> => {
    await Promise.all([cluster?.stop(), stopChild(redis), frontend.close()]);
  };
  const onSignal = (): void => {
    void cleanup().then(() => {
      rmSync(baseDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const loadBefore = loadavg()[0];
  const rows: Row[] = [];
  const layerTables: string[] = [];
  const runs: Array<{ row: Row; run: Run }> = [];
  try {
    log(`[bench:resp] starting a 3-node ringkv cluster (engine ${ENGINE ?? 'default'}) and redis-server on ${redisPort}`);
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const redisReady = waitForOutput(redis, /Ready to accept connections/, 20_000, 'redis-server');
    cluster = await LocalCluster.start({
      nodes: planLocalCluster({ count: 3, httpPorts: ports.slice(0, 3), internalPorts: ports.slice(3, 6), respPorts: ports.slice(6, 9), baseDir }),
      settings: { engine: ENGINE, logLevel: 'warn' },
      nodeArgs: args['cpu-prof'] ? (spec) => ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, spec.id)}`] : undefined,
      onLog: (id, line) => {
        if (line.includes('"level":50') || line.includes('"level":60') || !line.startsWith('{')) log(`  ${id} | ${line}`);
      },
      onExit: (id, code, signal, expected) => {
        if (!expected || signal === 'SIGKILL') log(`  ${id} exited (code ${code}, signal ${signal})${expected ? '' : ' unexpectedly'}`);
      },
    });
    await redisReady;
    redis.stdout?.resume();
    redis.stderr?.resume();
    const respPort = cluster.nodes[0].spec.respPort;
    const nodePids = cluster.nodes.map((n) => n.pid ?? 0);

    const scenarios: Array<{ name: string; extra: string[] }> = [
      { name: 'no pipeline', extra: [] },
      { name: '-P 16', extra: ['-P', '16'] },
    ];
    await frontend.listen();
    for (const s of scenarios) {
      for (const test of TESTS) {
        const ringkv = await benchmark(respPort, test, s.extra, `ringkv n1 (${s.name})`, nodePids);
        const red = (await benchmark(redisPort, test, s.extra, `redis-server (${s.name})`)).figures;
        const front = (await benchmark(frontend.port, test, s.extra, `RESP front end alone (${s.name})`)).figures;
        const a = ringkv.figures;
        const row: Row = {
          scenario: s.name,
          test,
          ringkv: a,
          redis: red,
          frontend: front,
          ratio: Number((a.rps / red.rps).toFixed(3)),
          frontendRatio: Number((front.rps / red.rps).toFixed(3)),
          ringkvServerCpuUsPerOp: Math.round(ringkv.cpuUs.reduce((x, y) => x + y, 0) / REQUESTS),
        };
        rows.push(row);
        runs.push({ row, run: ringkv });
      }
    }
    // each node writes its CPU profile as it stops (which takes a while for a long profile)
    await cluster.stop(PROFILE_STOP_GRACE_MS);
    if (args['cpu-prof']) {
      for (const { row, run: r } of runs) {
        const times: LayerTimes[] = [];
        cluster.nodes.forEach((node, i) => {
          const profiles = readProfiles(join(profileDir, node.id), r.fromUs, r.toUs).map((t) => ({ ...t, file: `${node.id}/${t.file}` }));
          times.push(...scaledToCpu(profiles, r.cpuUs[i]));
        });
        layerTables.push(`ringkv ${row.test} (${row.scenario}):\n${formatLayers(times, REQUESTS)}`);
        row.ringkvLayers = layersPerOp(times, REQUESTS);
      }
    }
    const loadAfter = loadavg()[0];

    const header = ['scenario', 'test', 'ringkv req/s', 'p50 ms', 'p99 ms', 'redis req/s', 'p50 ms', 'p99 ms', 'ringkv/redis', 'front end req/s', 'front/redis', 'ringkv CPU µs/req'];
    const widths = [12, 5, 13, 8, 8, 12, 8, 8, 12, 15, 11, 17];
    const line = (cells: string[]): string => cells.map((c, i) => pad(c, widths[i])).join('  ');
    console.log(`RESP benchmark: redis-benchmark -t <test> -n ${REQUESTS} -c ${CLIENTS} -d ${DATA_BYTES}${KEYSPACE !== undefined ? ` -r ${KEYSPACE} (random keys)` : ' (one key: --single-key)'}; ringkv = 3-node cluster (n=3 r=2 w=2, engine ${ENGINE ?? 'default'}), all clients on n1; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);
    console.log('front end = the RESP server alone over an in-memory map (no cluster), in the benchmark process; ringkv CPU = the three nodes together');
    console.log(line(header));
    for (const r of rows) {
      console.log(
        line([
          r.scenario, r.test,
          r.ringkv.rps.toFixed(0), r.ringkv.p50Ms.toFixed(3), r.ringkv.p99Ms.toFixed(3),
          r.redis.rps.toFixed(0), r.redis.p50Ms.toFixed(3), r.redis.p99Ms.toFixed(3),
          r.ratio.toFixed(3), r.frontend.rps.toFixed(0), r.frontendRatio.toFixed(3), String(r.ringkvServerCpuUsPerOp),
        ]),
      );
    }
    for (const t of layerTables) console.log(`\n${t}`);
    console.log(
      JSON.stringify({
        bench: 'resp',
        requests: REQUESTS,
        clients: CLIENTS,
        dataBytes: DATA_BYTES,
        keyspace: KEYSPACE ?? null,
        variant: KEYSPACE === undefined ? 'single-key' : 'random-keys',
        engine: ENGINE ?? 'default',
        loadAverage: { before: loadBefore, after: loadAfter },
        results: rows,
      }),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
    rmSync(baseDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  console.log(JSON.stringify({ bench: 'resp', error: e instanceof Error ? e.message : String(e) }));
  process.exitCode = 1;
});
