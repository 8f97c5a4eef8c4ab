/**
 * The bench's clients: a few writers that each put fresh keys with w=3 through one node over HTTP, one
 * after another, recording every write's invocation, completion and outcome (the chaos harness's raw
 * HTTP calls: no retries, no failover).
 */
import { httpPut } from '../../src/chaos/http-kv.js';
import type { WriteRecord } from './recovery.js';

export interface WriteLoadOptions {
  httpUrl: string;
  writers: number;
  w: number;
  clientTimeoutMs: number;
  serverTimeoutMs: number;
  /** pause after each write, so a failing write (answered at once) does not spin */
  thinkMs: number;
  now: () => number;
}

export class WriteLoad {
  /** every write, in the order invoked */
  readonly writes: WriteRecord[] = [];
  private stopping = false;
  private loops: Array<Promise<void>> = [];

  constructor(private readonly o: WriteLoadOptions) {}

  start(): void {
    this.loops = Array.from({ length: this.o.writers }, (_, i) => this.loop(i));
  }

  /** lets each writer finish the write it is in (bounded by the client timeout) */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async loop(writer: number): Promise<void> {
    for (let seq = 0; !this.stopping; seq++) {
      const key = `heal-${writer}-${seq}`;
      const rec: WriteRecord = { invokedMs: this.o.now() };
      this.writes.push(rec);
      try {
        const res = await httpPut(this.o.httpUrl, key, `v${seq}`, { w: this.o.w, serverTimeoutMs: this.o.serverTimeoutMs, clientTimeoutMs: this.o.clientTimeoutMs });
        rec.ok = res.status >= 200 && res.status < 300;
        rec.outcome = String(res.status);
      } catch (e) {
        rec.ok = false;
        rec.outcome = (e as { timedOut?: boolean }).timedOut ? 'client-timeout' : 'client-error';
      }
      rec.doneMs = this.o.now();
      await new Promise((r) => setTimeout(r, this.o.thinkMs));
    }
  }
}
