/**
 * The real Clock and Random for a node (the simulator has its own virtual ones). Timers are not
 * unref'd: a pending request timeout must fire even when it is the only thing left to wait for.
 */
import { RingkvError } from '../core/errors.js';
import type { Clock, Random, TimerHandle } from '../cluster/runtime.js';

/** setTimeout fires at once beyond this (Node warns and uses 1 ms), so longer waits are chained */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createNodeClock(): Clock {
  return {
    nowMs: () => Date.now(),
    monotonicMs: () => performance.now(),
    setTimer(delayMs: number, fn: () => void): TimerHandle {
      const dueMs = Date.now() + Math.max(0, delayMs);
      let timer: NodeJS.Timeout;
      const arm = (waitMs: number): void => {
        if (waitMs > MAX_TIMER_MS) {
          timer = setTimeout(() => arm(dueMs - Date.now()), MAX_TIMER_MS);
        } else {
          timer = setTimeout(fn, Math.max(0, waitMs));
        }
      };
      arm(Number.isFinite(delayMs) ? Math.max(0, delayMs) : MAX_TIMER_MS + 1);
      return { cancel: () => clearTimeout(timer) };
    },
  };
}

/**
 * Math.random is fast and good enough for jitter, sampling and gossip targets; the seed comes from
 * the platform (V8 seeds it from the OS), so separate nodes do not share a sequence.
 */
export function createNodeRandom(): Random {
  return {
    next: () => Math.random(),
    int(maxExclusive: number): number {
      if (!Number.isInteger(maxExclusive) || maxExclusive <= 0) {
        throw new RingkvError('BAD_PARAMETER', `Random.int needs a positive integer bound, got ${maxExclusive}`);
      }
      return Math.floor(Math.random() * maxExclusive);
    },
  };
}

