import type { Clock } from '../runtime.js';

/**
 * A token bucket over bytes: take(n) resolves once n bytes fit within the rate. The bucket holds at
 * most one second's worth, and a single take larger than that waits for it (never forever: a rate of
 * at least one byte per second always refills), so a limit can never round down to "nothing moves".
 */
export class ByteRateLimiter {
  private tokens: number;
  private lastMs: number;
  private readonly bytesPerSec: number;

  constructor(
    private readonly clock: Clock,
    bytesPerSec: number,
  ) {
    this.bytesPerSec = Math.max(1, bytesPerSec);
    this.tokens = this.bytesPerSec;
    this.lastMs = clock.monotonicMs();
  }

  async take(bytes: number): Promise<void> {
    for (;;) {
      const now = this.clock.monotonicMs();
      this.tokens = Math.min(this.bytesPerSec, this.tokens + ((now - this.lastMs) * this.bytesPerSec) / 1000);
      this.lastMs = now;
      const need = Math.min(bytes, this.bytesPerSec);
      if (this.tokens >= need) {
        this.tokens -= bytes;
        return;
      }
      const waitMs = Math.ceil(((need - this.tokens) * 1000) / this.bytesPerSec);
      await new Promise<void>((resolve) => this.clock.setTimer(Math.max(1, waitMs), resolve));
    }
  }
}
