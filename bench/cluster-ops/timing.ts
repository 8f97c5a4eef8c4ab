/** Time in the cluster-operations benchmark: a monotonic clock, bounded waits on a condition, progress lines. */
import { loadavg } from 'node:os';
import { percentile } from '../kit.js';

export const now = (): number => performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** a wait that ran out of time: the benchmark reports it as a finding, not as a crash */
export class WaitTimeout extends Error {}

/**
 * Polls fn every intervalMs until it returns something truthy; resolves with it. Throws WaitTimeout
 * after timeoutMs (naming what it waited for and the last error, if polling failed).
 */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastError = (e as Error).message;
    }
    if (now() > deadline) throw new WaitTimeout(`${what}: not reached within ${Math.round(timeoutMs / 1000)} s${lastError ? ` (last error: ${lastError})` : ''}`);
    await sleep(intervalMs);
  }
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

export const loadAverage = (): number => Math.round(loadavg()[0] * 100) / 100;

export const seconds = (ms: number): number => Math.round(ms) / 1000;

export function quantile(xs: number[], q: number): number {
  return percentile(Float64Array.from(xs).sort(), q);
}
