/**
 * Notices that the node itself was stalled (a GC pause, SIGSTOP, an overloaded host). Every timer
 * callback reports when it ran; the node's timers run at least every `expectedGapMs`, so a longer gap
 * means nothing of the node ran — it heard nothing because it listened to nothing, and its peers'
 * silence in that time is not evidence against them. Whichever timer runs first after the stall
 * (they all come due at once) reports the stall, once.
 */
export class StallGuard {
  private lastRunMs: number;

  constructor(
    /** gaps up to this long are ordinary timer lateness */
    private readonly thresholdMs: number,
    /** the longest a healthy node goes without running a timer */
    private readonly expectedGapMs: number,
    nowMs: number,
  ) {
    this.lastRunMs = nowMs;
  }

  /** A timer ran at nowMs; returns how long the node was stalled before it (0 for none). */
  ran(nowMs: number): number {
    const gap = nowMs - this.lastRunMs;
    this.lastRunMs = Math.max(this.lastRunMs, nowMs);
    return gap > this.thresholdMs ? gap - this.expectedGapMs : 0;
  }
}
