/**
 * Admission control for the requests clients send a node (HTTP and RESP alike): at most `maxInFlight`
 * run in the cluster layer at once; the rest wait in one FIFO queue of at most `maxQueued`. A request
 * that cannot start within its timeout is refused with OVERLOADED (HTTP 503, RESP -BUSY) before any
 * work is done for it — at once when the queue is full or when the queue's recent drain rate says it
 * would not reach the front in time, else when its deadline passes in the queue. Past capacity the
 * node so keeps serving at its peak rate with bounded memory and latency, instead of accepting
 * everything and timing out on most of it.
 *
 * A request that waited starts with what is left of its timeout, so its deadline stays the one the
 * client asked for.
 *
 * When the event loop itself is saturated, requests wait unread in socket buffers before they reach
 * this queue; `lagMs` (event-loop-lag.ts) estimates that wait, and a request whose timeout it has
 * used up is refused at once (cheaply: no cluster work), which is what lets a saturated node catch up.
 */
import { RingkvError } from '../core/errors.js';

export interface AdmissionOptions {
  /** requests running in the cluster layer at once @default 256 */
  maxInFlight?: number;
  /** requests waiting for a slot, at most @default 4096 */
  maxQueued?: number;
  /** a request's timeout when it names none (the node's requestTimeoutMs) */
  defaultTimeoutMs: number;
  /** @default performance.now */
  nowMs?: () => number;
  /** how long requests wait unread before they get here (event-loop lag) @default none */
  lagMs?: () => number;
}

/** why a request was refused: the queue was full, it would not reach the front in time, it did not, or the loop ran too late */
export type RefusalReason = 'queue_full' | 'would_time_out' | 'timed_out_waiting' | 'loop_lag';

export interface AdmissionStats {
  inFlight: number;
  queued: number;
  admitted: number;
  refused: Record<RefusalReason, number>;
}

interface Waiter {
  deadlineMs: number;
  arrivedMs: number;
  grant: () => void;
  refuse: (err: RingkvError) => void;
}

export const DEFAULT_MAX_IN_FLIGHT = 256;
export const DEFAULT_MAX_QUEUED = 4096;
/** weight of the newest completion interval in the drain-rate estimate */
const EWMA_WEIGHT = 0.05;

export class AdmissionControl {
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly defaultTimeoutMs: number;
  private readonly nowMs: () => number;
  private readonly lagMs: () => number;
  private running = 0;
  /** waiters from `head` on; the array is compacted as the head advances */
  private queue: Waiter[] = [];
  private head = 0;
  /** the last completion, or the start of the current busy period if later */
  private lastCompletionMs = -1;
  /** smoothed ms between completions while requests wait: how fast the queue drains */
  private drainIntervalMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly counts: AdmissionStats = { inFlight: 0, queued: 0, admitted: 0, refused: { queue_full: 0, would_time_out: 0, timed_out_waiting: 0, loop_lag: 0 } };

  constructor(opts: AdmissionOptions) {
    this.maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.defaultTimeoutMs = opts.defaultTimeoutMs;
    this.nowMs = opts.nowMs ?? (() => performance.now());
    this.lagMs = opts.lagMs ?? (() => 0);
    if (!(this.maxInFlight >= 1) || !(this.maxQueued >= 0)) throw new RingkvError('BAD_PARAMETER', `admission limits must be maxInFlight >= 1 and maxQueued >= 0, got ${this.maxInFlight} and ${this.maxQueued}`);
  }

  get stats(): AdmissionStats {
    return { ...this.counts, inFlight: this.running, queued: this.queue.length - this.head, refused: { ...this.counts.refused } };
  }

  /**
   * Runs `work` once a slot is free, passing it the timeout left (undefined when it did not wait: the
   * caller's own timeout, or the default, still applies in full); rejects with OVERLOADED when the
   * request cannot start within `timeoutMs` (default: the node's).
   */
  async run<T>(timeoutMs: number | undefined, work: (remainingTimeoutMs: number | undefined) => Promise<T>): Promise<T> {
    const timeout = timeoutMs ?? this.defaultTimeoutMs;
    const lag = this.lagMs();
    if (lag >= timeout) throw this.refuse('loop_lag', `the node's event loop runs ${Math.round(lag)} ms late, so the request waited about that long unread: its whole timeout of ${timeout} ms`);
    let remaining: number | undefined;
    if (this.running < this.maxInFlight && this.head === this.queue.length) {
      this.running++;
    } else {
      remaining = await this.wait(timeout - lag);
    }
    this.counts.admitted++;
    try {
      return await work(remaining);
    } finally {
      this.release();
    }
  }

  /** Queues the caller; resolves with the timeout left once it holds a slot. */
  private wait(timeoutMs: number): Promise<number> {
    const queued = this.queue.length - this.head;
    if (queued >= this.maxQueued) return Promise.reject(this.refuse('queue_full', `${queued} requests already wait (maxQueuedRequests ${this.maxQueued})`));
    const expectedWaitMs = (queued + 1) * this.drainIntervalMs;
    if (this.drainIntervalMs > 0 && expectedWaitMs > timeoutMs) {
      return Promise.reject(this.refuse('would_time_out', `${queued} requests wait ahead of it, about ${Math.round(expectedWaitMs)} ms at the current rate, over its timeout of ${timeoutMs} ms`));
    }
    const now = this.nowMs();
    // a busy period starts: the drain rate counts completions from now, not across the idle time before
    if (queued === 0) this.lastCompletionMs = now;
    return new Promise<number>((resolve, reject) => {
      const w: Waiter = {
        deadlineMs: now + timeoutMs,
        arrivedMs: now,
        grant: () => resolve(Math.max(1, Math.floor(w.deadlineMs - this.nowMs()))),
        refuse: reject,
      };
      this.queue.push(w);
      if (this.timer === undefined) this.armTimer();
    });
  }

  private release(): void {
    this.running--;
    const now = this.nowMs();
    if (this.head < this.queue.length) {
      // the drain rate is only meaningful while requests wait
      const interval = this.lastCompletionMs < 0 ? 0 : now - this.lastCompletionMs;
      this.drainIntervalMs = this.drainIntervalMs === 0 ? interval : (1 - EWMA_WEIGHT) * this.drainIntervalMs + EWMA_WEIGHT * interval;
    }
    this.lastCompletionMs = now;
    this.grantNext(now);
  }

  private grantNext(now: number): void {
    while (this.running < this.maxInFlight && this.head < this.queue.length) {
      const w = this.queue[this.head++];
      if (now >= w.deadlineMs) {
        w.refuse(this.refuse('timed_out_waiting', `it waited ${Math.round(now - w.arrivedMs)} ms for a slot, its whole timeout`));
        continue;
      }
      this.running++;
      w.grant();
    }
    this.compact();
  }

  /** Refuses the waiters whose deadline has passed (the earliest first: the queue is roughly in deadline order). */
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = this.nowMs();
    while (this.head < this.queue.length && this.queue[this.head].deadlineMs <= now) {
      const w = this.queue[this.head++];
      w.refuse(this.refuse('timed_out_waiting', `it waited ${Math.round(now - w.arrivedMs)} ms for a slot, its whole timeout`));
    }
    this.compact();
    if (this.head < this.queue.length) this.armTimer();
  };

  private armTimer(): void {
    const first = this.queue[this.head];
    // not unref'd: a client waits on each queued request until it is admitted or refused
    this.timer = setTimeout(this.expire, Math.max(1, Math.ceil(first.deadlineMs - this.nowMs())));
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private refuse(reason: RefusalReason, why: string): RingkvError {
    this.counts.refused[reason]++;
    return new RingkvError('OVERLOADED', `node overloaded, request refused before it started: ${why}`, { reason });
  }
}
