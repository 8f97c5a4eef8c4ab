/**
 * `npm run bench:resp`: the same redis-benchmark against a local 3-node ringkv cluster (RESP port of
 * n1) and against a redis-server on the same machine, then the ratio ringkv / redis.
 *
 *   redis-benchmark -t set,get -n 200000 -c 50 -d 100 --csv          (then again with -P 16)
 *
 * Environment: RESP_BENCH_REQUESTS (default 200000), RESP_BENCH_CLIENTS (50), RESP_BENCH_ENGINE
 * (the node default when unset; `memory` to leave the disk out), RESP_BENCH_KEYSPACE (adds
 * `-r <n>`: random keys instead of redis-benchmark's single key). Needs redis-server and
 * redis-benchmark (Debian: apt-get install -y redis-server redis-tools) and a built CLI.
 * A third column runs the same benchmark against the RESP front end alone (RespServer in this process
 * over an in-memory map KvService, no cluster): the protocol layer's own ceiling.
 * Prints a table, then one JSON object as the last line.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import type { GetResult, KvService } from '../src/cluster/kv-service.js';
import { RespServer } from '../src/api/resp/server.js';

const run = promisify(execFile);

const REQUESTS = Number(process.env.RESP_BENCH_REQUESTS ?? 200_000);
const CLIENTS = Number(process.env.RESP_BENCH_CLIENTS ?? 50);
const DATA_BYTES = 100;
const ENGINE = process.env.RESP_BENCH_ENGINE;
const KEYSPACE = process.env.RESP_BENCH_KEYSPACE ? Number(process.env.RESP_BENCH_KEYSPACE) : undefined;
const CLI = resolve('dist/src/cli/main.js');

interface Figures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

interface Row {
  scenario: string;
  test: string;
  ringkv: Figures;
  redis: Figures;
  /** the RESP front end alone over an in-memory KvService */
  frontend: Figures;
  ratio: number;
  frontendRatio: number;
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

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const s = createServer();
    s.once('error', () => resolveFree(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolveFree(true)));
  });
}

/** a base port p with p, p+1, p+2 free (ringkv dev numbers its nodes' ports consecutively) */
async function freeRun(count: number, avoid: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((p) => avoid.has(p))) continue;
    let ok = true;
    for (const p of ports) ok = ok && (await portIsFree(p));
    if (ok) {
      for (const p of ports) avoid.add(p);
      return base;
    }
  }
  throw new Error('no free port range found');
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

async function benchmark(port: number, extra: string[], label: string): Promise<Map<string, Figures>> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', 'set,get', '-n', String(REQUESTS), '-c', String(CLIENTS), '-d', String(DATA_BYTES), '--csv', ...extra];
  if (KEYSPACE !== undefined) args.push('-r', String(KEYSPACE));
  log(`[bench:resp] ${label}: redis-benchmark ${args.join(' ')}`);
  const started = Date.now();
  const progress = setInterval(() => log(`[bench:resp]   … ${label} still running (${Math.round((Date.now() - started) / 1000)} s)`), 15_000);
  try {
    const { stdout } = await run('redis-benchmark', args, { maxBuffer: 16 * 1024 * 1024 });
    const rows = parseCsv(stdout);
    if (!rows.has('SET') || !rows.has('GET')) throw new Error(`unexpected redis-benchmark output:\n${stdout}`);
    log(`[bench:resp]   done in ${((Date.now() - started) / 1000).toFixed(1)} s: SET ${rows.get('SET')?.rps} req/s, GET ${rows.get('GET')?.rps} req/s`);
    return rows;
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
  if (!existsSync(CLI)) missing.push(`${CLI} (run npm run build)`);
  if (missing.length > 0) {
    console.log(`bench:resp needs ${missing.join(', ')} (Debian: apt-get install -y redis-server redis-tools)`);
    console.log(JSON.stringify({ bench: 'resp', error: `missing ${missing.join(', ')}` }));
    process.exitCode = 1;
    return;
  }

  const used = new Set<number>();
  const httpBase = await freeRun(3, used);
  const internalBase = await freeRun(3, used);
  const respBase = await freeRun(3, used);
  const redisPort = await freeRun(1, used);
  const baseDir = mkdtempSync(join(tmpdir(), 'ringkv-bench-resp-'));
  let cluster: ChildProcess | undefined;
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
    await Promise.all([stopChild(cluster), stopChild(redis), frontend.close()]);
    rmSync(baseDir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const devArgs = [CLI, 'dev', '--nodes', '3', '--fresh', '--base-dir', baseDir, '--http-port', String(httpBase), '--internal-port', String(internalBase), '--resp-port', String(respBase), '--log-level', 'warn'];
    if (ENGINE) devArgs.push('--engine', ENGINE);
    log(`[bench:resp] starting a 3-node ringkv cluster (RESP ${respBase}-${respBase + 2}, engine ${ENGINE ?? 'default'}) and redis-server on ${redisPort}`);
    cluster = spawn(process.execPath, devArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await Promise.all([
      waitForOutput(cluster, /cluster ready/, 60_000, 'ringkv dev cluster'),
      waitForOutput(redis, /Ready to accept connections/, 20_000, 'redis-server'),
    ]);
    // keep draining their output so they never block on a full pipe
    cluster.stdout?.resume();
    cluster.stderr?.resume();
    redis.stdout?.resume();

    const scenarios: Array<{ name: string; extra: string[] }> = [
      { name: 'no pipeline', extra: [] },
      { name: '-P 16', extra: ['-P', '16'] },
    ];
    await frontend.listen();
    const rows: Row[] = [];
    for (const s of scenarios) {
      const ringkv = await benchmark(respBase, s.extra, `ringkv n1 (${s.name})`);
      const red = await benchmark(redisPort, s.extra, `redis-server (${s.name})`);
      const front = await benchmark(frontend.port, s.extra, `RESP front end alone (${s.name})`);
      for (const test of ['SET', 'GET']) {
        const a = ringkv.get(test) as Figures;
        const b = red.get(test) as Figures;
        const f = front.get(test) as Figures;
        rows.push({ scenario: s.name, test, ringkv: a, redis: b, frontend: f, ratio: Number((a.rps / b.rps).toFixed(3)), frontendRatio: Number((f.rps / b.rps).toFixed(3)) });
      }
    }

    const header = ['scenario', 'test', 'ringkv req/s', 'p50 ms', 'p99 ms', 'redis req/s', 'p50 ms', 'p99 ms', 'ringkv/redis', 'front end req/s', 'front/redis'];
    const widths = [12, 5, 13, 8, 8, 12, 8, 8, 12, 15, 11];
    const line = (cells: string[]): string => cells.map((c, i) => pad(c, widths[i])).join('  ');
    console.log(`RESP benchmark: redis-benchmark -t set,get -n ${REQUESTS} -c ${CLIENTS} -d ${DATA_BYTES}${KEYSPACE ? ` -r ${KEYSPACE}` : ''}; ringkv = 3-node cluster (n=3 r=2 w=2, engine ${ENGINE ?? 'default'}), all clients on n1`);
    console.log('front end = the RESP server alone over an in-memory map (no cluster), in the benchmark process');
    console.log(line(header));
    for (const r of rows) {
      console.log(
        line([
          r.scenario, r.test,
          r.ringkv.rps.toFixed(0), r.ringkv.p50Ms.toFixed(3), r.ringkv.p99Ms.toFixed(3),
          r.redis.rps.toFixed(0), r.redis.p50Ms.toFixed(3), r.redis.p99Ms.toFixed(3),
          r.ratio.toFixed(3), r.frontend.rps.toFixed(0), r.frontendRatio.toFixed(3),
        ]),
      );
    }
    console.log(
      JSON.stringify({
        bench: 'resp',
        requests: REQUESTS,
        clients: CLIENTS,
        dataBytes: DATA_BYTES,
        keyspace: KEYSPACE ?? null,
        engine: ENGINE ?? 'default',
        results: rows,
      }),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  console.log(JSON.stringify({ bench: 'resp', error: e instanceof Error ? e.message : String(e) }));
  process.exitCode = 1;
});
