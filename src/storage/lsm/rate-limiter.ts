/**
 * Limits background I/O (compaction) to a byte rate so it cannot starve foreground reads and writes:
 * after each chunk the writer waits until the bytes written so far fit the rate.
 */
export class RateLimiter {
  private startedAtMs = 0;
  private bytes = 0;

  constructor(private readonly bytesPerSec: number, private readonly nowMs: () => number = () => performance.now()) {}

  async consume(bytes: number): Promise<void> {
    if (!(this.bytesPerSec > 0) || !Number.isFinite(this.bytesPerSec)) return;
    const now = this.nowMs();
    if (this.bytes === 0) this.startedAtMs = now;
    this.bytes += bytes;
    const dueAtMs = this.startedAtMs + (this.bytes / this.bytesPerSec) * 1000;
    const waitMs = dueAtMs - now;
    if (waitMs > 1) await new Promise<void>((resolve) => setTimeout(resolve, Math.min(waitMs, 10_000)));
  }
}
