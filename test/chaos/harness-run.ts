/** Runs the compiled harness (dist/src/chaos/cli.js) as a child process, for the tests that need a real run. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runNamespaces } from '../../src/chaos/cleanup.js';
import { RUN_ENV, runDirectory } from '../../src/chaos/names.js';
import { findExecutable } from '../../src/chaos/sys.js';

export const CHAOS_CLI = fileURLToPath(new URL('../../src/chaos/cli.js', import.meta.url));

export const canRunHarness = {
  ok: typeof process.getuid === 'function' && process.getuid() === 0 && findExecutable('ip') !== undefined && findExecutable('iptables') !== undefined,
  message: 'the fault harness needs root, iproute2 and iptables (CI runs as root; apt-get install -y iproute2 iptables)',
};

export interface HarnessProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** resolves with the first stderr line matching re */
  line(re: RegExp, timeoutMs: number): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startHarness(args: string[]): HarnessProcess {
  const child = spawn(process.execPath, [CHAOS_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const line = async (re: RegExp, timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = err.split('\n').find((l) => re.test(l));
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0 || child.exitCode !== null) throw new Error(`the harness printed no line matching ${re}; stderr:\n${err}\nstdout:\n${out.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  return { child, stdout: () => out, stderr: () => err, line, exit };
}

/** what a run with this launcher pid left behind: namespaces, tagged processes, mounts, its directory */
export async function leftovers(launcherPid: number): Promise<string[]> {
  const runId = `rkc${launcherPid}`;
  const found: string[] = (await runNamespaces(runId)).map((ns) => `namespace ${ns}`);
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(runDirectory(runId)));
  found.push(...mounts.map((m) => `mount ${m.split(' ')[1]}`));
  const { readdirSync, existsSync } = await import('node:fs');
  if (existsSync(runDirectory(runId))) found.push(`directory ${runDirectory(runId)}`);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`${RUN_ENV}=${runId}`)) found.push(`process ${entry}`);
    } catch {
      // gone
    }
  }
  return found;
}
