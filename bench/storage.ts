/**
 * Storage engine benchmark: ringkv's LsmEngine (NodeFS) against LevelDB (classic-level), in one
 * process, on temp directories.
 *
 *   npm run bench:storage -- [--count N] [--batch-count N] [--concurrency C] [--only ringkv|leveldb] [--async-reads]
 *
 * Phases per engine: N puts (16-byte keys, 100-byte values, C in flight) with periodic sync; N random
 * gets (warm); a full ordered scan; reopen and N random gets (cold); then, on a fresh directory,
 * --batch-count puts with batch sync (ringkv: group commit, ack after fsync; LevelDB: `sync: true`).
 * Beside each rate, the process's CPU time per operation over the phase (every thread: ringkv's
 * table worker, LevelDB's compaction and libuv threads), which a busy machine disturbs far less than
 * wall-clock rates. Prints a table, then one JSON line.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { LsmEngine } from '../src/storage/lsm/lsm-engine.js';
import { PreadNodeFS } from '../src/storage/lsm/pread-fs.js';

interface Args {
  count: number;
  batchCount: number;
  concurrency: number;
  only?: string;
  /** ringkv: block reads through the libuv pool (fs/promises) instead of pread on the main thread */
  asyncReads: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { count: 1_000_000, batchCount: -1, concurrency: 64, asyncReads: false };
  for (let i = 0; i < argv.length; i++) {
    const next = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${argv[i - 1]} needs a positive integer, got ${argv[i]}`);
      return v;
    };
    if (argv[i] === '--count') args.count = next();
    else if (argv[i] === '--batch-count') args.batchCount = next();
    else if (argv[i] === '--concurrency') args.concurrency = next();
    else if (argv[i] === '--only') args.only = argv[++i];
    else if (argv[i] === '--async-reads') args.asyncReads = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (args.batchCount < 0) args.batchCount = Math.min(args.count, 100_000);
  return args;
}

/** Interface both engines are driven through. */
interface Store {
  put(i: number): Promise<void>;
  get(i: number): Promise<boolean>;
  scan(): Promise<number>;
  close(): Promise<void>;
}

const KEY_BYTES = 16;
const VALUE_BYTES = 100;

/** Key i: 16 pseudo-random bytes (a bijective mix of i), so insert order is random in key space. */
function makeKey(i: number): Buffer {
  const k = Buffer.allocUnsafe(KEY_BYTES);
  let x = Math.imul(i ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  for (let w = 0; w < 4; w++) {
    x ^= x >>> 15;
    x = Math.imul(x, 0x2c1b3c6d) >>> 0;
    x ^= x >>> 12;
    x = Math.imul(x + w + i, 0x297a2d39) >>> 0;
    x ^= x >>> 15;
    k.writeUInt32BE(w === 3 ? i >>> 0 : x >>> 0, w * 4);
  }
  return k;
}

const VALUE_POOL = Buffer.alloc(VALUE_BYTES * 1024);
for (let i = 0; i < VALUE_POOL.length; i++) VALUE_POOL[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
function makeValue(i: number): Buffer {
  const at = (i % 1000) * VALUE_BYTES;
  return VALUE_POOL.subarray(at, at + VALUE_BYTES);
}

function partitionOf(key: Buffer): number {
  return key[0]; // 256 partitions, as the ring's default Q
}

class RingkvStore implements Store {
  private constructor(private readonly engine: LsmEngine) {}

  static async open(dir: string, syncMode: 'batch' | 'periodic', args: Args): Promise<RingkvStore> {
    return new RingkvStore(await LsmEngine.open(new PreadNodeFS(), { dir, syncMode, syncBlockReads: !args.asyncReads }));
  }

  put(i: number): Promise<void> {
    const key = makeKey(i);
    return this.engine.put(partitionOf(key), key, makeValue(i));
  }

  async get(i: number): Promise<boolean> {
    const key = makeKey(i);
    return (await this.engine.get(partitionOf(key), key)) !== undefined;
  }

  async scan(): Promise<number> {
    let n = 0;
    for await (const _ of this.engine.scan(0, 256)) n++;
    return n;
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  stats(): Record<string, number | undefined> {
    return this.engine.stats();
  }

  idle(): Promise<void> {
    return this.engine.idle();
  }
}

class LevelStore implements Store {
  private constructor(private readonly db: ClassicLevel<Buffer, Buffer>, private readonly sync: boolean) {}

  static async open(dir: string, syncMode: 'batch' | 'periodic'): Promise<LevelStore> {
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return new LevelStore(db, syncMode === 'batch');
  }

  put(i: number): Promise<void> {
    const key = makeKey(i);
    return this.db.put(key, makeValue(i), { sync: this.sync });
  }

  async get(i: number): Promise<boolean> {
    return (await this.db.get(makeKey(i))) !== undefined;
  }

  async scan(): Promise<number> {
    let n = 0;
    for await (const _ of this.db.keys()) n++;
    return n;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

let peakRssBytes = 0;
function sampleRss(): void {
  peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss());
}

/** CPU µs per operation (all threads of this process) of the last drive() */
let lastCpuUsPerOp = 0;

/** Runs op(i) for i in [0, n) with `concurrency` in flight; returns ops per second (CPU per op in lastCpuUsPerOp). */
async function drive(label: string, n: number, concurrency: number, op: (i: number) => Promise<unknown>, order: (i: number) => number = (i) => i): Promise<number> {
  let next = 0;
  let done = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let lastReport = started;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await op(order(i));
      done++;
      if ((done & 4095) === 0) {
        sampleRss();
        const now = performance.now();
        if (now - lastReport > 2000) {
          lastReport = now;
          process.stderr.write(`  ${label}: ${done}/${n} (${Math.round((done / (now - started)) * 1000)} ops/s)\n`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  lastCpuUsPerOp = (cpu.user + cpu.system) / n;
  sampleRss();
  return (n / elapsedMs) * 1000;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

/** A fixed random permutation of [0, n) (seeded Fisher–Yates), so every key is read once. */
function randomOrder(n: number): (i: number) => number {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let seed = 0x12345678;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = Math.floor((seed / 4294967296) * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return (i) => perm[i];
}

interface EngineResult {
  putsPerSecPeriodic: number;
  /** CPU µs per put, periodic sync, over the put phase */
  putCpuUsPeriodic: number;
  getCpuUsWarm: number;
  putCpuUsBatch: number;
  getsPerSecWarm: number;
  scanEntriesPerSec: number;
  getsPerSecCold: number;
  putsPerSecBatch: number;
  bytesOnDisk: number;
  peakRssBytes: number;
  missingKeys: number;
  scanned: number;
}

async function runEngine(name: string, open: (dir: string, mode: 'batch' | 'periodic', args: Args) => Promise<Store>, args: Args): Promise<EngineResult> {
  const root = mkdtempSync(join(tmpdir(), `ringkv-bench-${name}-`));
  peakRssBytes = process.memoryUsage.rss();
  try {
    const dir = join(root, 'periodic');
    let store = await open(dir, 'periodic', args);
    process.stderr.write(`${name}: ${args.count} puts (periodic sync)\n`);
    const putsPerSecPeriodic = await drive(`${name} put`, args.count, args.concurrency, (i) => store.put(i));
    const putCpuUsPeriodic = lastCpuUsPerOp;
    if (store instanceof RingkvStore) await store.idle();
    process.stderr.write(`${name}: ${args.count} random gets (warm)\n`);
    let missingKeys = 0;
    const order = randomOrder(args.count);
    const getsPerSecWarm = await drive(`${name} get`, args.count, args.concurrency, async (i) => {
      if (!(await store.get(i))) missingKeys++;
    }, order);
    const getCpuUsWarm = lastCpuUsPerOp;
    process.stderr.write(`${name}: full scan\n`);
    const scanStarted = performance.now();
    const scanned = await store.scan();
    const scanEntriesPerSec = (scanned / (performance.now() - scanStarted)) * 1000;
    sampleRss();
    if (store instanceof RingkvStore) process.stderr.write(`${name} stats: ${JSON.stringify(store.stats())}\n`);
    await store.close();
    const bytesOnDisk = dirBytes(dir);
    store = await open(dir, 'periodic', args);
    process.stderr.write(`${name}: ${args.count} random gets (cold: reopened)\n`);
    const getsPerSecCold = await drive(`${name} cold get`, args.count, args.concurrency, async (i) => {
      if (!(await store.get(i))) missingKeys++;
    }, order);
    await store.close();
    rmSync(dir, { recursive: true, force: true });

    const batchDir = join(root, 'batch');
    store = await open(batchDir, 'batch', args);
    process.stderr.write(`${name}: ${args.batchCount} puts (batch sync)\n`);
    const putsPerSecBatch = await drive(`${name} batch put`, args.batchCount, args.concurrency, (i) => store.put(i));
    const putCpuUsBatch = lastCpuUsPerOp;
    await store.close();
    return { putsPerSecPeriodic, putCpuUsPeriodic, getCpuUsWarm, putCpuUsBatch, getsPerSecWarm, scanEntriesPerSec, getsPerSecCold, putsPerSecBatch, bytesOnDisk, peakRssBytes, missingKeys, scanned };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function fmt(n: number): string {
  return n < 100 ? n.toFixed(2) : Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const results: Record<string, EngineResult> = {};
  if (args.only !== 'leveldb') results.ringkv = await runEngine('ringkv', RingkvStore.open, args);
  if (args.only !== 'ringkv') results.leveldb = await runEngine('leveldb', LevelStore.open, args);
  const r = results.ringkv;
  const l = results.leveldb;
  const rows: [string, keyof EngineResult][] = [
    [`puts/s, periodic sync (${args.count})`, 'putsPerSecPeriodic'],
    ['  CPU µs per put, periodic (all threads)', 'putCpuUsPeriodic'],
    [`puts/s, batch sync (${args.batchCount})`, 'putsPerSecBatch'],
    ['  CPU µs per put, batch (all threads)', 'putCpuUsBatch'],
    ['random gets/s, warm', 'getsPerSecWarm'],
    ['  CPU µs per get, warm', 'getCpuUsWarm'],
    ['random gets/s, cold (reopened)', 'getsPerSecCold'],
    ['full scan, entries/s', 'scanEntriesPerSec'],
    ['bytes on disk', 'bytesOnDisk'],
    ['peak RSS bytes (process, during phase)', 'peakRssBytes'],
  ];
  const line = (a: string, b: string, c: string, d: string): string => `${a.padEnd(40)} ${b.padStart(14)} ${c.padStart(14)} ${d.padStart(8)}`;
  console.log(`\nstorage benchmark: ${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte values, concurrency ${args.concurrency}, node ${process.version}, ringkv block reads ${args.asyncReads ? 'async (libuv pool)' : 'pread (sync)'}`);
  console.log(line('metric', 'ringkv', 'leveldb', 'ratio'));
  for (const [label, field] of rows) {
    const a = r?.[field];
    const b = l?.[field];
    console.log(line(label, a === undefined ? '-' : fmt(a), b === undefined ? '-' : fmt(b), a !== undefined && b ? (a / b).toFixed(2) : '-'));
  }
  if (r && r.missingKeys > 0) console.log(`WARNING: ringkv missed ${r.missingKeys} keys`);
  if (r && r.scanned !== args.count) console.log(`WARNING: ringkv scan saw ${r.scanned} entries, expected ${args.count}`);
  const ratios: Record<string, number> = {};
  if (r && l) for (const [, field] of rows) ratios[field] = Number((r[field] / l[field]).toFixed(3));
  console.log(JSON.stringify({ bench: 'storage', ringkvBlockReads: args.asyncReads ? 'async' : 'sync', count: args.count, batchCount: args.batchCount, concurrency: args.concurrency, keyBytes: KEY_BYTES, valueBytes: VALUE_BYTES, ringkv: r, leveldb: l, ratios }));
}

await main();
