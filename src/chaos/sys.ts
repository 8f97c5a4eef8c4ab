/**
 * Running system commands (ip, iptables, tc, mount) for the fault harness: every call bounded in
 * time, its output captured, a failure reported with the command line and its stderr.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const COMMAND_TIMEOUT_MS = 15_000;

/** runs a command and resolves with its exit code and output (never rejects for a non-zero exit) */
export function run(cmd: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 127) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === 127 ? err.message : '') });
    });
  });
}

export class CommandError extends Error {}

/** runs a command and rejects unless it exits 0 */
export async function must(cmd: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new CommandError(`\`${[cmd, ...args].join(' ')}\` exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** runs a command inside a network namespace */
export function inNetns(ns: string, cmd: string, args: string[]): Promise<string> {
  return must('ip', ['netns', 'exec', ns, cmd, ...args]);
}

/** the absolute path of an executable on PATH (or the usual sbin directories), undefined when absent */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next directory
    }
  }
  return undefined;
}

/** resolves after ms; only for pacing and polling, never as a stand-in for a condition */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** polls `check` every intervalMs until it returns true; false when timeoutMs passes first */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await pause(intervalMs);
  }
}

export class Interrupted extends Error {}

/** waits ms, or rejects with Interrupted as soon as the signal aborts */
export function waitOrInterrupt(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Interrupted('interrupted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Interrupted('interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
