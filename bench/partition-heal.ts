/**
 * How long after a partition heals w=3 writes are acknowledged again (issue 9: within about one gossip
 * interval, 500 ms), on real node processes in network namespaces with real iptables partitions — the
 * fault harness's cluster (src/chaos). Needs root; exits 77 where it cannot run.
 *
 *   npm run bench:partition-heal -- [--rounds 5] [--partition-seconds 20] [--loss]
 *       [--writers 4] [--client-timeout-ms 1500] [--request-timeout-ms 1000] [--think-ms 20]
 *       [--window-ms 2000] [--steady-timeout-seconds 60] [--node-cli <main.js>] [--logs <dir>]
 *
 * 3 nodes (n=3, w=3, r=2, node defaults otherwise); writers put fresh keys with w=3 through n1 without
 * pause. Each round cuts n2 or n3 (alternately) off from the other nodes for --partition-seconds
 * (--loss: 20 % packet loss into every node instead, as the chaos `loss` nemesis), heals, and records
 * the time from the heal to (a) the first acknowledged write invoked after it and (b) the start of the
 * first --window-ms window in which every write was acknowledged, and the transport counters' change
 * over the round (stalled connections replaced, stall probes, reconnects). --node-cli runs the nodes
 * with another build's dist/src/cli/main.js (e.g. one from before a change) on the same harness.
 *
 * Progress lines, then a table and, last, one JSON line. Like the chaos harness, it starts itself again
 * inside the run's hub namespace, and every namespace, rule, mount and process it made is removed at
 * the end, on a failure and on Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { reapStaleRuns } from '../src/chaos/cleanup.js';
import { insideHub, insideRunId, runInHub } from '../src/chaos/hub-launch.js';
import { newRunId } from '../src/chaos/names.js';
import { preflight } from '../src/chaos/preflight.js';
import { Interrupted } from '../src/chaos/sys.js';
import { formatTable } from '../src/cli/table.js';
import { loadAverage, quantile, say } from './cluster-ops/timing.js';
import { sumOf } from './partition-heal/counters.js';
import { fmt, runHealBench, type HealBenchOptions, type RoundResult } from './partition-heal/scenario.js';

const EXIT_CANNOT_RUN = 77;

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'partition-seconds': { type: 'string', default: '20' },
    loss: { type: 'boolean', default: false },
    writers: { type: 'string', default: '4' },
    'client-timeout-ms': { type: 'string', default: '1500' },
    'request-timeout-ms': { type: 'string', default: '1000' },
    'think-ms': { type: 'string', default: '20' },
    'window-ms': { type: 'string', default: '2000' },
    'steady-timeout-seconds': { type: 'string', default: '60' },
    'node-cli': { type: 'string' },
    logs: { type: 'string' },
  },
});

function num(name: keyof typeof args, min: number, max: number): number {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got ${String(args[name])}`);
  return v;
}

const nodeCli = args['node-cli'] === undefined ? undefined : resolve(args['node-cli']);
if (nodeCli !== undefined && !existsSync(nodeCli)) throw new Error(`--node-cli: no file ${nodeCli}`);
const opts: HealBenchOptions = {
  rounds: num('rounds', 1, 1000),
  partitionSeconds: num('partition-seconds', 1, 3600),
  fault: args.loss ? 'loss' : 'isolate',
  writers: num('writers', 1, 64),
  clientTimeoutMs: num('client-timeout-ms', 100, 60_000),
  requestTimeoutMs: num('request-timeout-ms', 100, 60_000),
  thinkMs: num('think-ms', 0, 10_000),
  windowMs: num('window-ms', 100, 60_000),
  steadyTimeoutSeconds: num('steady-timeout-seconds', 1, 3600),
  ...(nodeCli !== undefined ? { nodeCli } : {}),
  ...(args.logs !== undefined ? { logDir: resolve(args.logs) } : {}),
};

const log = (line: string): void => void process.stderr.write(`partition-heal: ${line}\n`);

async function launch(): Promise<number> {
  // A run whose launcher's command line does not name "chaos" counts as stale (src/chaos/cleanup.ts):
  // a chaos run started meanwhile would remove this one.
  process.title = 'chaos partition-heal';
  const runId = newRunId();
  await reapStaleRuns(log);
  const pre = await preflight(`${runId}-probe`);
  if (!pre.ok) {
    log(`cannot run here: ${pre.reason}`);
    say(JSON.stringify({ bench: 'partition-heal', result: 'cannot-run', reason: pre.reason }));
    return EXIT_CANNOT_RUN;
  }
  return runInHub(runId, {}, log);
}

function report(rounds: RoundResult[], loadAtStart: number): void {
  const healed = (f: (r: RoundResult) => number | undefined): { median?: number; worst?: number; never: number } => {
    const xs = rounds.map(f);
    const seen = xs.filter((x): x is number => x !== undefined);
    return { ...(seen.length ? { median: Math.round(quantile(seen, 0.5)), worst: Math.max(...seen) } : {}), never: xs.length - seen.length };
  };
  const firstAck = healed((r) => r.firstAckMs);
  const steady = healed((r) => r.steadyMs);
  const rows = rounds.map((r) => [
    String(r.round),
    r.fault,
    `${r.duringFault.ok}/${r.duringFault.ok + r.duringFault.failed}`,
    fmt(r.firstAckMs),
    fmt(r.steadyMs),
    ...(['stalled', 'probes', 'reconnects'] as const).map((c) => `${sumOf(r.counters.duringFault[c])} / ${sumOf(r.counters.afterHeal[c])}`),
  ]);
  const summary = (s: typeof firstAck): string => `${fmt(s.median)} / ${fmt(s.worst)}${s.never ? ` (${s.never} never)` : ''}`;
  rows.push(['median / worst', '', '', summary(firstAck), summary(steady), '', '', '']);
  say(`\nringkv partition heal: 3 real node processes (n=3 w=3 r=2), ${opts.writers} writers through n1, ${opts.partitionSeconds} s faults${opts.nodeCli ? `, nodes from ${opts.nodeCli}` : ''}; load average ${loadAtStart} at the start, ${loadAverage()} at the end (${cpus().length} CPUs)`);
  process.stdout.write(formatTable(['round', 'fault', 'w=3 ok during fault', 'heal → first w=3 ok', `heal → steady (${opts.windowMs / 1000} s all ok)`, 'stalled conns replaced', 'stall probes', 'reconnects'], rows));
  say('counters: summed over the nodes, while the fault was on / from the heal to the steady window (per node in the JSON)');
  const problems = rounds.filter((r) => r.problem).map((r) => `round ${r.round}: ${r.problem}`);
  say(problems.length === 0 ? 'problems: none' : `problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  say(JSON.stringify({ bench: 'partition-heal', options: opts, cpus: cpus().length, loadAvg: { start: loadAtStart, end: loadAverage() }, firstAckMs: firstAck, steadyMs: steady, rounds, problems }));
}

async function inside(runId: string): Promise<number> {
  return insideHub(runId, log, async (signal) => {
    const loadAtStart = loadAverage();
    try {
      report(await runHealBench(runId, opts, signal, say), loadAtStart);
      return 0;
    } catch (e) {
      if (e instanceof Interrupted) {
        log('interrupted: stopped the writers and the nodes');
        return 130;
      }
      log(`failed: ${(e as Error).stack ?? e}`);
      say(JSON.stringify({ bench: 'partition-heal', result: 'error', error: String((e as Error).message ?? e) }));
      return 2;
    }
  });
}

const runId = insideRunId();
process.exit(runId !== undefined ? await inside(runId) : await launch());
