/**
 * Removing everything a run made: its processes (found by the RINGKV_CHAOS_RUN tag in their
 * environment, so a SIGSTOPped or orphaned node is found too), its network namespaces (and with them
 * every veth, bridge, iptables rule and qdisc inside), its tmpfs mounts and its scratch directory.
 * Idempotent: the run itself calls it on exit, Ctrl-C and failure, the launching process calls it
 * again after the run ends, and a later run calls it for runs whose launcher is gone.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hubNamespace, RUN_ENV, runDirectory, runIdOfNamespace, RUN_ID_PATTERN } from './names.js';
import { pause, run } from './sys.js';

export interface CleanupReport {
  killed: number;
  namespaces: string[];
  unmounted: string[];
  errors: string[];
}

function taggedPids(runId: string): number[] {
  const tag = `${RUN_ENV}=${runId}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(tag)) pids.push(pid);
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs every process of the run (SIGKILL also ends a stopped process) and waits up to 5 s for them to go */
async function killRunProcesses(runId: string, report: CleanupReport): Promise<void> {
  const pids = taggedPids(runId);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      report.killed++;
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < deadline) await pause(20);
  const left = pids.filter(alive);
  if (left.length > 0) report.errors.push(`processes still alive after SIGKILL: ${left.join(', ')}`);
}

export async function runNamespaces(runId: string): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((ns) => ns && runIdOfNamespace(ns) === runId);
}

function mountsUnder(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
      .map((m) => m.replace(/\\040/g, ' '))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

export async function cleanupRun(runId: string): Promise<CleanupReport> {
  const report: CleanupReport = { killed: 0, namespaces: [], unmounted: [], errors: [] };
  await killRunProcesses(runId, report);
  // node namespaces first, the hub (which the in-namespace harness may still be using) last
  const namespaces = (await runNamespaces(runId)).sort((a, b) => (a === hubNamespace(runId) ? 1 : b === hubNamespace(runId) ? -1 : a.localeCompare(b)));
  for (const ns of namespaces) {
    const r = await run('ip', ['netns', 'del', ns]);
    if (r.code === 0) report.namespaces.push(ns);
    else report.errors.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
  }
  const dir = runDirectory(runId);
  for (const m of mountsUnder(dir)) {
    const r = await run('umount', ['-l', m]);
    if (r.code === 0) report.unmounted.push(m);
    else report.errors.push(`umount ${m}: ${r.stderr.trim()}`);
  }
  if (existsSync(dir)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      report.errors.push(`rm ${dir}: ${(e as Error).message}`);
    }
  }
  return report;
}

/** run ids whose namespaces or directories exist while their launching process is gone */
export async function staleRuns(): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  const ids = new Set<string>();
  if (r.code === 0) {
    for (const line of r.stdout.split('\n')) {
      const id = runIdOfNamespace(line.trim().split(/\s+/)[0] ?? '');
      if (id) ids.add(id);
    }
  }
  return [...ids].filter((id) => {
    const m = RUN_ID_PATTERN.exec(id);
    if (!m) return false;
    const pid = Number(m[1]);
    if (!alive(pid)) return true;
    // the pid was reused by something that is not a harness run
    try {
      return !readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('chaos');
    } catch {
      return true;
    }
  });
}

/** removes what runs whose launcher died (kill -9, power loss) left behind */
export async function reapStaleRuns(log: (line: string) => void): Promise<void> {
  for (const id of await staleRuns()) {
    const report = await cleanupRun(id);
    log(`removed what the earlier run ${id} left behind: ${report.namespaces.length} namespaces, ${report.killed} processes, ${report.unmounted.length} mounts${report.errors.length ? `; errors: ${report.errors.join('; ')}` : ''}`);
  }
}
