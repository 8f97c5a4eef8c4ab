/**
 * `npm run chaos -- <options>` / `ringkv chaos <options>`: the real-network fault harness.
 *
 * The command runs in two processes. The launcher (in the namespace it was started from) checks that
 * it can run here (exit 77 when not: not root, no network namespaces), removes what dead earlier runs
 * left behind, creates the hub namespace and starts itself again inside it. That second process makes
 * the node namespaces, runs the cluster, the clients and the schedule, and judges the history. When it
 * ends — normally, on Ctrl-C, or by crashing — the launcher removes every process, namespace and mount
 * of the run again, so nothing is left even if the inner process could not clean up.
 */
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { judge } from './checkers/verdict.js';
import { reapStaleRuns } from './cleanup.js';
import { insideHub, insideRunId, runInHub } from './hub-launch.js';
import { readHistory } from './history.js';
import { newRunId } from './names.js';
import { NEMESES, type Capability } from './nemeses.js';
import { preflight, type Capabilities } from './preflight.js';
import { figuresJson, humanReport } from './report.js';
import { runInside, type RunOptions } from './run.js';
import { buildSchedule, scheduleSeconds, selectNemeses, SHORT_NEMESES } from './schedule.js';

/** exit code for "cannot run here" (automake's skip code, which the test runner understands) */
export const EXIT_CANNOT_RUN = 77;
const CAPS_ENV = 'RINGKV_CHAOS_CAPS';

interface CliOptions {
  short?: boolean;
  nemeses?: string;
  nodes?: number;
  faultSeconds?: number;
  quietSeconds?: number;
  checkSeconds: number;
  seed: number;
  out?: string;
  commitlogSync: 'batch' | 'periodic';
  maxOps: number;
  diskMib: number;
  replay?: string;
  list?: boolean;
  cleanup?: boolean;
}

const int = (name: string, min: number, max: number) => (v: string): number => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min || x > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
  return x;
};

function parseArgs(argv: string[]): CliOptions {
  const cmd = new Command('chaos')
    .description('real node processes in network namespaces, real faults, checked histories (needs root)')
    .option('--short', 'the fixed short schedule: 3 nodes; isolate one node, kill -9 one node, pause one node (about 2 minutes)')
    .option('--nemeses <list>', `comma-separated nemeses (default: every one this machine supports): ${NEMESES.map((n) => n.name).join(', ')}`)
    .option('--nodes <k>', 'number of nodes (default 3 with --short, else 5)', int('--nodes', 1, 9))
    .option('--fault-seconds <s>', 'length of each fault window (default 12 with --short, else 15)', int('--fault-seconds', 1, 600))
    .option('--quiet-seconds <s>', 'quiet period after each fault, before its convergence check (default 6 with --short, else 8)', int('--quiet-seconds', 0, 600))
    .option('--check-seconds <s>', 'time limit of one convergence check', int('--check-seconds', 1, 600), 30)
    .option('--seed <n>', 'seed for the nemeses\' choices and the clients', int('--seed', 0, 2 ** 31 - 1), 1)
    .option('--out <dir>', 'where history.jsonl, timeline.html, summary.txt, result.json and node logs go (default chaos-out/<schedule>-<time>)')
    .option('--commitlog-sync <mode>', 'the nodes\' commit log sync: batch | periodic', (v) => {
      if (v !== 'batch' && v !== 'periodic') throw new InvalidArgumentError('batch or periodic');
      return v;
    }, 'batch')
    .option('--max-ops <n>', 'operations each workload may start in the whole run', int('--max-ops', 1, 10_000_000), 200_000)
    .option('--disk-mib <n>', 'size of each node\'s tmpfs data directory', int('--disk-mib', 16, 65_536), 512)
    .option('--replay <history.jsonl>', 'judge a recorded history again, offline (no root needed)')
    .option('--list', 'list the nemeses and whether this machine can run them')
    .option('--cleanup', 'remove what killed earlier runs left behind, then exit')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  cmd.parse(argv, { from: 'user' });
  return cmd.opts<CliOptions>();
}

const log = (line: string): void => void process.stderr.write(`chaos: ${line}\n`);

function capabilitySet(caps: Capabilities): { have: Set<Capability>; why: Partial<Record<Capability, string>> } {
  const have = new Set<Capability>();
  const why: Partial<Record<Capability, string>> = {};
  if (caps.delay) have.add('delay');
  else why.delay = caps.delayMissing ?? 'no way to delay packets';
  if (caps.faketimeLib) have.add('faketime');
  else why.faketime = 'libfaketime not installed (Debian package faketime)';
  return { have, why };
}

function runOptions(o: CliOptions, caps: Capabilities): RunOptions {
  const short = o.short === true;
  const nodes = o.nodes ?? (short ? 3 : 5);
  const { have, why } = capabilitySet(caps);
  const wanted = o.nemeses ? o.nemeses.split(',').map((s) => s.trim()).filter(Boolean) : short ? SHORT_NEMESES : 'all';
  const n = Math.min(3, nodes);
  const selection = selectNemeses(wanted, { nodes, n }, have, why);
  const faultMs = (o.faultSeconds ?? (short ? 12 : 15)) * 1000;
  const quietMs = (o.quietSeconds ?? (short ? 6 : 8)) * 1000;
  const scheduleName = short ? 'short' : o.nemeses ? 'custom' : 'full';
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const q = Math.min(2, n);
  return {
    scheduleName,
    steps: buildSchedule(selection.run, faultMs, quietMs),
    skipped: selection.skipped,
    nodes,
    n,
    r: q,
    w: q,
    requestTimeoutMs: 1500,
    clientTimeoutMs: 3000,
    commitlogSync: o.commitlogSync,
    diskMiB: o.diskMib,
    checkTimeLimitMs: o.checkSeconds * 1000,
    maxOpsPerWorkload: o.maxOps,
    recheckSample: 300,
    seed: o.seed,
    outDir: resolve(o.out ?? join('chaos-out', `${scheduleName}-${stamp}`)),
    ...(have.has('faketime') && selection.run.includes('clock-bump') ? { faketimeLib: caps.faketimeLib } : {}),
    ...(caps.delay ? { delayMethod: caps.delay } : {}),
  };
}

async function replay(path: string): Promise<number> {
  const verdict = judge(readHistory(path));
  process.stdout.write(`${humanReport(verdict, true)}\n${figuresJson(verdict, { replayed: path })}\n`);
  return verdict.violations.length === 0 ? 0 : 1;
}

async function inside(o: CliOptions, runId: string): Promise<number> {
  const caps = JSON.parse(process.env[CAPS_ENV] ?? '{}') as Capabilities;
  const ro = runOptions(o, caps);
  return insideHub(runId, log, (signal) => runInside(runId, ro, signal, log));
}

async function launch(o: CliOptions): Promise<number> {
  const runId = newRunId();
  await reapStaleRuns(log);
  const pre = await preflight(`${runId}-probe`);
  if (!pre.ok) {
    log(`cannot run here: ${pre.reason}`);
    process.stdout.write(`${JSON.stringify({ result: 'cannot-run', reason: pre.reason, lost: {} })}\n`);
    return EXIT_CANNOT_RUN;
  }
  const ro = runOptions(o, pre.caps);
  const faults = ro.steps.filter((s) => s.kind === 'fault').map((s) => (s.kind === 'fault' ? s.nemesis : ''));
  log(`${ro.scheduleName} schedule: ${faults.join(', ') || 'no faults'} on ${ro.nodes} nodes, about ${Math.round(scheduleSeconds(ro.steps, 5000))} s; output in ${ro.outDir}`);
  for (const s of ro.skipped) log(`left out ${s.nemesis}: ${s.why}`);
  return runInHub(runId, { [CAPS_ENV]: JSON.stringify(pre.caps) }, log);
}

export async function chaosMain(argv: string[]): Promise<number> {
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  if (o.replay) return replay(o.replay);
  if (o.list) {
    const pre = process.getuid?.() === 0 ? await preflight(`${newRunId()}-probe`) : undefined;
    const caps: Capabilities = pre?.ok ? pre.caps : { delayMissing: 'unknown (not root)' };
    const { have, why } = capabilitySet(caps);
    for (const n of NEMESES) {
      const missing = n.needs.filter((c) => !have.has(c));
      const status = n.unavailable ?? (missing.length ? `unavailable here: ${missing.map((c) => why[c]).join('; ')}` : 'available');
      process.stdout.write(`${n.name.padEnd(16)} ${n.summary}\n${''.padEnd(16)} [${status}]\n`);
    }
    return 0;
  }
  if (o.cleanup) {
    if (process.getuid?.() !== 0) {
      log('cleanup needs root');
      return EXIT_CANNOT_RUN;
    }
    await reapStaleRuns(log);
    return 0;
  }
  const insideRun = insideRunId();
  // the inner process is started with this process's own command line (npm run chaos or ringkv chaos)
  return insideRun ? inside(o, insideRun) : launch(o);
}
