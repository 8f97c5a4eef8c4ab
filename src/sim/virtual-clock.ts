import type { Clock, TimerHandle } from '../cluster/runtime.js';
import { TimerQueue } from './timer-queue.js';

/** 2023-11-14T22:13:20Z: a plausible wall clock, so code that reasons about epoch ms sees sane values */
export const DEFAULT_SIM_START_MS = 1_700_000_000_000;

/**
 * Virtual milliseconds (always whole numbers) and the timers due on them. Time moves only when the
 * scheduler (Simulation) advances it; nothing here reads the real clock.
 */
export class VirtualClock implements Clock {
  private now: number;
  private readonly queue = new TimerQueue();

  constructor(startMs = DEFAULT_SIM_START_MS) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  /** virtual time itself: never skewed, never stepped */
  monotonicMs(): number {
    return this.now;
  }

  /** Delays are rounded up to whole ms; negative or NaN delays fire at the current ms (after what is already due). */
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? Math.ceil(delayMs) : 0;
    const timer = this.queue.push(this.now + delay, fn);
    return { cancel: () => this.queue.cancel(timer) };
  }

  /** live timers waiting to fire */
  get pendingTimers(): number {
    return this.queue.size;
  }

  /** when the next timer is due, or undefined when none is */
  nextDueMs(): number | undefined {
    return this.queue.peek()?.atMs;
  }

  /**
   * Fires the earliest timer if it is due at or before limitMs: time jumps to its due ms and its
   * callback runs. Returns false (and leaves time alone) when nothing is due by then.
   */
  fireNext(limitMs = Infinity): boolean {
    const top = this.queue.peek();
    if (!top || top.atMs > limitMs) return false;
    this.queue.pop();
    this.now = top.atMs;
    top.fn();
    return true;
  }

  /** moves time forward to atMs without firing anything (callers fire what is due first) */
  advanceTo(atMs: number): void {
    if (atMs < this.now) throw new RangeError(`virtual time cannot go back from ${this.now} to ${atMs}`);
    const due = this.nextDueMs();
    if (due !== undefined && due < atMs) throw new Error(`advanceTo(${atMs}) would skip a timer due at ${due}`);
    this.now = atMs;
  }
}

/**
 * How far one node's wall clock is from true (virtual) time: a fixed offset plus a drift rate that
 * accumulates from `sinceMs` (the virtual ms the skew was set). Only what the node reads from
 * nowMs() is skewed; its timers still fire after the virtual delay they asked for, as a real
 * machine's monotonic timers do while its wall clock is wrong.
 */
export interface ClockSkew {
  offsetMs: number;
  /** extra ms per million ms of true time (1000 = the clock runs 0.1% fast; negative = slow) */
  driftPpm: number;
  /** virtual epoch ms the drift is counted from */
  sinceMs: number;
}

export const NO_SKEW: ClockSkew = { offsetMs: 0, driftPpm: 0, sinceMs: 0 };

/** the wall time a node with this skew reads at virtual time virtualMs (whole ms) */
export function skewedNowMs(virtualMs: number, skew: ClockSkew): number {
  return virtualMs + skew.offsetMs + Math.round(((virtualMs - skew.sinceMs) * skew.driftPpm) / 1e6);
}

/**
 * One node incarnation's view of the shared clock: its own (possibly skewed) wall time, and timers
 * on the shared virtual time that can all be cancelled at once, which is how a simulated crash stops
 * a node's background work dead. `skew` is read on every nowMs(), so changing it steps the clock.
 */
export class ScopedClock implements Clock {
  private readonly handles = new Set<TimerHandle>();
  private killed = false;

  constructor(
    private readonly clock: Clock,
    private readonly skew: () => ClockSkew = () => NO_SKEW,
  ) {}

  nowMs(): number {
    return skewedNowMs(this.clock.nowMs(), this.skew());
  }

  /** a skewed machine's monotonic clock still runs at the rate of true time */
  monotonicMs(): number {
    return this.clock.monotonicMs();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    if (this.killed) return { cancel: () => {} };
    const handle = this.clock.setTimer(delayMs, () => {
      this.handles.delete(handle);
      fn();
    });
    this.handles.add(handle);
    return {
      cancel: () => {
        this.handles.delete(handle);
        handle.cancel();
      },
    };
  }

  /** cancels every pending timer and ignores any set later */
  kill(): void {
    this.killed = true;
    for (const h of this.handles) h.cancel();
    this.handles.clear();
  }

  get pendingTimers(): number {
    return this.handles.size;
  }
}
