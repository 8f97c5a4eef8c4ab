/**
 * Running a program that uses the fault harness's network (the chaos run, bench:partition-heal) in
 * two processes. The launcher, in the namespace it was started from, creates the run's hub namespace
 * and starts its own command line again inside it (where the node addresses are reachable); when that
 * inner process ends — normally, on Ctrl-C, or by crashing — the launcher removes every process,
 * namespace and mount of the run, so nothing is left even if the inner process could not clean up.
 * The inner process stops as on Ctrl-C when the launcher is gone, and cleans up after itself too.
 */
import { spawn } from 'node:child_process';
import { cleanupRun } from './cleanup.js';
import { hubNamespace, RUN_ENV } from './names.js';
import { createHub } from './netns.js';

/** set in the inner process's environment to its run id */
export const INSIDE_ENV = 'RINGKV_CHAOS_INSIDE';
/** how long the launcher lets the inner process clean up after Ctrl-C before killing it */
const INTERRUPT_GRACE_MS = 20_000;

/** the run id when this process is the inner one, else undefined */
export function insideRunId(): string | undefined {
  return process.env[INSIDE_ENV];
}

/** launcher side: resolves with the inner process's exit code (130 when interrupted) once everything is removed */
export async function runInHub(runId: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<number> {
  let child: ReturnType<typeof spawn> | undefined;
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    // the inner process heals and cleans up; if it takes too long, it is killed and we clean up
    if (!interrupted) {
      interrupted = true;
      child?.kill('SIGINT');
      setTimeout(() => child?.kill('SIGKILL'), INTERRUPT_GRACE_MS).unref();
    } else if (sig === 'SIGINT') child?.kill('SIGKILL');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await createHub(runId);
    return await new Promise<number>((resolveExit) => {
      child = spawn('nsenter', [`--net=/run/netns/${hubNamespace(runId)}`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, ...env, [INSIDE_ENV]: runId, [RUN_ENV]: runId },
      });
      child.once('error', (e) => {
        log(`could not start the run inside its namespace: ${e.message}`);
        resolveExit(2);
      });
      child.once('exit', (c, s) => resolveExit(c ?? (s === 'SIGINT' ? 130 : 2)));
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const report = await cleanupRun(runId);
    if (report.errors.length > 0) log(`cleanup problems: ${report.errors.join('; ')}`);
    else if (report.namespaces.length > 0 || report.killed > 0) log(`cleanup: ${report.killed} leftover processes killed, ${report.namespaces.length} namespaces removed`);
  }
}

/**
 * inner side: runs body with a signal that aborts on SIGINT / SIGTERM or when the launcher is gone
 * (kill -9), then removes what the run made
 */
export async function insideHub(runId: string, log: (line: string) => void, body: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (!controller.signal.aborted) log('interrupt: healing, stopping the clients and the nodes, removing the namespaces');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // if the launcher is killed outright (kill -9), stop as on Ctrl-C rather than run on unwatched
  const launcher = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== launcher) {
      log('the launching process is gone');
      onSignal();
    }
  }, 500);
  watch.unref();
  try {
    return await body(controller.signal);
  } finally {
    clearInterval(watch);
    const report = await cleanupRun(runId);
    if (report.errors.length > 0) log(`cleanup problems: ${report.errors.join('; ')}`);
  }
}
