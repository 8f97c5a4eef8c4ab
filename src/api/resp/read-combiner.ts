import type { GetResult } from '../../cluster/kv-service.js';

/**
 * Shares quorum reads of one key among the GETs arriving at this node while a read of that key is
 * in flight: they do not join the running read (it began before they arrived, so it could miss a
 * write that completed in between), they wait for it to end and then share ONE new read. Every GET
 * is thus answered from a read that began after the GET arrived and ended before its reply — the
 * same guarantee as a read of its own — while a hot key costs one quorum read at a time per node
 * instead of one per GET.
 */
interface KeyState {
  /** GETs waiting for the read after the running one; null when none */
  next: Array<{ resolve: (r: GetResult) => void; reject: (e: unknown) => void }> | null;
}

export class ReadCombiner {
  private readonly keys = new Map<string, KeyState>();
  private readonly read: (key: Buffer) => Promise<GetResult>;

  constructor(read: (key: Buffer) => Promise<GetResult>) {
    this.read = read;
  }

  /** keys with a read in flight (for tests: back to 0 when idle) */
  get activeKeys(): number {
    return this.keys.size;
  }

  get(key: Buffer): Promise<GetResult> {
    const name = key.toString('latin1');
    const state = this.keys.get(name);
    if (state === undefined) {
      this.keys.set(name, { next: null });
      return this.start(name, key);
    }
    return new Promise<GetResult>((resolve, reject) => {
      (state.next ??= []).push({ resolve, reject });
    });
  }

  private start(name: string, key: Buffer): Promise<GetResult> {
    const reading = this.read(key);
    const advance = (): void => this.finished(name, key);
    reading.then(advance, advance);
    return reading;
  }

  private finished(name: string, key: Buffer): void {
    const state = this.keys.get(name);
    if (state === undefined) return;
    const waiters = state.next;
    if (waiters === null) {
      this.keys.delete(name);
      return;
    }
    state.next = null;
    this.start(name, key).then(
      (result) => {
        for (const w of waiters) w.resolve(result);
      },
      (e: unknown) => {
        for (const w of waiters) w.reject(e);
      },
    );
  }
}
