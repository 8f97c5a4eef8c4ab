/**
 * Client traffic for the cluster-operations benchmark, over keep-alive HTTP: a bulk preload of keys, a
 * steady foreground load whose throughput can be read for any window of time, and a check that keys
 * read back with their values. Every loop is bounded in operations and in seconds.
 */
import { request, type Target } from '../kit.js';
import { metricOver } from './node-api.js';
import { now, say, sleep, until } from './timing.js';

export const keyName = (prefix: string, i: number): string => `${prefix}-${i}`;

/** the value of a key: the key, a version tag, then filler up to `bytes` (so a read can tell which write it sees) */
export function valueOf(key: string, bytes: number, version = 0): Buffer {
  const head = Buffer.from(`${key}/${version}/`);
  const out = Buffer.alloc(Math.max(bytes, head.length), 'v');
  head.copy(out);
  return out;
}

/**
 * Runs fn(0..count-1) on `concurrency` workers until done or maxSeconds pass, printing progress every
 * 5 s. Resolves with how many ran.
 */
async function pool(label: string, count: number, concurrency: number, maxSeconds: number, fn: (i: number, worker: number) => Promise<void>): Promise<{ done: number; seconds: number }> {
  const start = now();
  const deadline = start + maxSeconds * 1000;
  let next = 0;
  let done = 0;
  const progress = setInterval(() => say(`  ${label}: ${done} of ${count} (${Math.round(done / ((now() - start) / 1000))}/s)`), 5000);
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        while (next < count && now() < deadline) {
          await fn(next++, w);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(progress);
  }
  return { done, seconds: (now() - start) / 1000 };
}

export interface PreloadOptions {
  prefix: string;
  count: number;
  valueBytes: number;
  concurrency: number;
  maxSeconds: number;
}

/**
 * Writes keys prefix-0 … prefix-(count-1) spread over the targets. A write that fails is retried with
 * the same write id (applied once), up to 5 times; a key that still fails, or running out of time,
 * is an error: the scenarios that follow rely on every key being there.
 */
export async function preload(targets: Target[], o: PreloadOptions): Promise<{ seconds: number; keysPerSec: number; retries: number }> {
  let retries = 0;
  const run = await pool(`preload ${o.prefix}`, o.count, o.concurrency, o.maxSeconds, async (i, w) => {
    const key = keyName(o.prefix, i);
    const body = valueOf(key, o.valueBytes);
    for (let attempt = 0; ; attempt++) {
      const target = targets[(w + attempt) % targets.length];
      try {
        const res = await request(target, { method: 'PUT', path: `/kv/${key}`, body, headers: { 'x-ringkv-write-id': `preload-${key}` }, keepBody: false });
        if (res.status === 204) return;
        if (res.status < 500 || attempt >= 5) throw new Error(`PUT ${key}: HTTP ${res.status}`);
      } catch (e) {
        if (attempt >= 5) throw e;
      }
      retries++;
      await sleep(100 * (attempt + 1));
    }
  });
  if (run.done < o.count) throw new Error(`preload ${o.prefix}: only ${run.done} of ${o.count} keys written within ${o.maxSeconds} s`);
  return { seconds: run.seconds, keysPerSec: Math.round(o.count / run.seconds), retries };
}

export interface VerifyOptions {
  keys: string[];
  valueBytes: number;
  /** the version tag the value must carry @default 0 */
  version?: (key: string) => number;
  /** read quorum */
  r: number;
  concurrency: number;
  maxSeconds: number;
}

export interface VerifyResult {
  checked: number;
  missing: number;
  /** a value that is not the one written */
  wrong: number;
  /** answered with siblings (300) that include the value */
  siblings: number;
  /** failed reads (5xx, connection errors) */
  errors: number;
  examples: string[];
}

/** reads every key (at r) and compares it with what was written */
export async function verify(targets: Target[], o: VerifyOptions): Promise<VerifyResult> {
  const out: VerifyResult = { checked: 0, missing: 0, wrong: 0, siblings: 0, errors: 0, examples: [] };
  const note = (what: string): void => {
    if (out.examples.length < 5) out.examples.push(what);
  };
  await pool(`verify r=${o.r}`, o.keys.length, o.concurrency, o.maxSeconds, async (i, w) => {
    const key = o.keys[i];
    const expected = valueOf(key, o.valueBytes, o.version?.(key) ?? 0);
    try {
      const res = await request(targets[w % targets.length], { method: 'GET', path: `/kv/${key}?r=${o.r}` });
      if (res.status === 200) {
        if (!res.body.equals(expected)) {
          out.wrong++;
          note(`${key}: read ${JSON.stringify(res.body.subarray(0, 40).toString())}`);
        }
      } else if (res.status === 300) {
        const siblings = (JSON.parse(res.body.toString()) as { siblings: Array<{ value: string }> }).siblings.map((s) => Buffer.from(s.value, 'base64'));
        if (siblings.some((v) => v.equals(expected))) out.siblings++;
        else {
          out.wrong++;
          note(`${key}: ${siblings.length} siblings, none the value written`);
        }
      } else if (res.status === 404) {
        out.missing++;
        note(`${key}: not found`);
      } else {
        out.errors++;
        note(`${key}: HTTP ${res.status} ${res.body.subarray(0, 120).toString()}`);
      }
    } catch (e) {
      out.errors++;
      note(`${key}: ${(e as Error).message}`);
    }
    out.checked++;
  });
  return out;
}

/**
 * Reads every key at r=3 — every replica must answer — and counts the replicas that answered without
 * the key's latest version: the coordinators' stale-reply counters (read repair) over the pass, once
 * they stop moving (read repair is counted after the answer). With N=3 on 3 nodes every node is a
 * replica of every key, so a coordinator reads its own copy locally.
 */
export async function replicaCheck(coordinators: Target[], everyNode: Target[], o: Omit<VerifyOptions, 'r'>): Promise<VerifyResult & { staleReplicas: number }> {
  const stale = (): Promise<number> => metricOver(everyNode, 'ringkv_replication_stale_replies_total');
  const before = await stale();
  const check = await verify(coordinators, { ...o, r: 3 });
  let last = -1;
  const after = await until(
    'stale-reply counters settled',
    async () => {
      const v = await stale();
      const settled = v === last;
      last = v;
      return settled ? v + 1 : false; // +1: a truthy value even for 0
    },
    30_000,
    500,
  );
  return { ...check, staleReplicas: after - 1 - before };
}

export interface SteadyLoadOptions {
  targets: Target[];
  concurrency: number;
  /** share of puts (the rest are gets) */
  putFraction: number;
  /** puts write new keys <putPrefix>-<worker>-<i> */
  putPrefix: string;
  /** gets read keys <prefix>-<from> … <prefix>-<from + count - 1>, which must exist */
  getKeys?: { prefix: string; count: number; from?: number };
  valueBytes: number;
  maxSeconds: number;
  maxOps: number;
  /** write quorum of the puts (the node's default when absent) */
  w?: number;
}

const BUCKET_MS = 100;

/**
 * A closed-loop foreground load (each worker one request at a time) that counts completed puts and
 * gets in 100-ms buckets, so the throughput of any window (before, during, after an operation) can be
 * read from the same run. Acknowledged puts are kept, to check afterwards that none was lost.
 */
export class SteadyLoad {
  private readonly startMs = now();
  private readonly puts: Uint32Array;
  private readonly gets: Uint32Array;
  private readonly errors: Uint32Array;
  private stopped = false;
  private ops = 0;
  private readonly workers: Promise<void>[];
  readonly acked: string[] = [];
  /** gets of keys that must exist but answered 404 */
  getsNotFound = 0;
  firstError = '';

  constructor(private readonly o: SteadyLoadOptions) {
    const buckets = Math.ceil((o.maxSeconds * 1000) / BUCKET_MS) + 1;
    this.puts = new Uint32Array(buckets);
    this.gets = new Uint32Array(buckets);
    this.errors = new Uint32Array(buckets);
    this.workers = Array.from({ length: o.concurrency }, (_, w) => this.worker(w));
  }

  private get deadline(): number {
    return this.startMs + this.o.maxSeconds * 1000;
  }

  private async worker(w: number): Promise<void> {
    const { o } = this;
    const target = o.targets[w % o.targets.length];
    const quorum = o.w === undefined ? '' : `?w=${o.w}`;
    for (let i = 0; !this.stopped && this.ops < o.maxOps && now() < this.deadline; i++) {
      this.ops++;
      const isPut = !o.getKeys || (i * 7919 + w) % 1000 < o.putFraction * 1000;
      let ok = false;
      let key = '';
      try {
        if (isPut) {
          key = `${o.putPrefix}-${w}-${i}`;
          const res = await request(target, { method: 'PUT', path: `/kv/${key}${quorum}`, body: valueOf(key, o.valueBytes), keepBody: false });
          ok = res.status === 204;
          if (ok) this.acked.push(key);
          else this.firstError ||= `PUT ${key}: HTTP ${res.status}`;
        } else {
          const g = o.getKeys!;
          key = keyName(g.prefix, (g.from ?? 0) + Math.floor(Math.random() * g.count));
          const res = await request(target, { method: 'GET', path: `/kv/${key}`, keepBody: false });
          ok = res.status === 200 || res.status === 300;
          if (res.status === 404) this.getsNotFound++;
          if (!ok) this.firstError ||= `GET ${key}: HTTP ${res.status}`;
        }
      } catch (e) {
        this.firstError ||= `${isPut ? 'PUT' : 'GET'} ${key}: ${(e as Error).message}`;
      }
      const b = Math.min(this.puts.length - 1, Math.floor((now() - this.startMs) / BUCKET_MS));
      if (!ok) this.errors[b]++;
      else if (isPut) this.puts[b]++;
      else this.gets[b]++;
    }
  }

  /** puts, gets and errors per second completed between two instants (from now()) */
  rate(fromMs: number, toMs: number): { putsPerSec: number; getsPerSec: number; errorsPerSec: number } {
    const from = Math.max(0, Math.floor((fromMs - this.startMs) / BUCKET_MS));
    const to = Math.min(this.puts.length, Math.ceil((toMs - this.startMs) / BUCKET_MS));
    const secs = Math.max(1e-9, ((to - from) * BUCKET_MS) / 1000);
    let puts = 0;
    let gets = 0;
    let errors = 0;
    for (let b = from; b < to; b++) {
      puts += this.puts[b];
      gets += this.gets[b];
      errors += this.errors[b];
    }
    return { putsPerSec: Math.round(puts / secs), getsPerSec: Math.round(gets / secs), errorsPerSec: Math.round((errors / secs) * 10) / 10 };
  }

  /** false once it ran out of operations or time (a window read after that would be empty) */
  get running(): boolean {
    return !this.stopped && this.ops < this.o.maxOps && now() < this.deadline;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers);
  }
}

/** the steady load's throughput over a window, as a table cell */
export function formatRate(r: { putsPerSec: number; getsPerSec: number }): string {
  return `${r.putsPerSec} put/s + ${r.getsPerSec} get/s`;
}
