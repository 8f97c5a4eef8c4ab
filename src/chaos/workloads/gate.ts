/**
 * Lets the schedule stop the clients for a convergence check: pauseAndDrain() closes the gate and
 * resolves once no operation is in flight; resume() opens it again; stop() ends every worker loop.
 */
export class Gate {
  private paused = false;
  private stopped = false;
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private drained: Array<() => void> = [];

  /** waits while paused; false once stopped (the worker must end) */
  async enter(): Promise<boolean> {
    while (this.paused && !this.stopped) await new Promise<void>((r) => this.waiters.push(r));
    if (this.stopped) return false;
    this.inFlight++;
    return true;
  }

  leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const d of this.drained.splice(0)) d();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  pauseAndDrain(): Promise<void> {
    this.paused = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.drained.push(r));
  }

  resume(): void {
    this.paused = false;
    for (const w of this.waiters.splice(0)) w();
  }

  stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiters.splice(0)) w();
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.drained.push(r));
  }
}
