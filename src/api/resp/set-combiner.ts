/**
 * Combines plain SETs of one key arriving at this node while an earlier SET of that key is still
 * being written: they wait, and only the last one's value is written next, after which all of them
 * are answered. That is a valid linearization (each combined SET takes effect and is overwritten at
 * once by the next, concurrent, one; nobody could have read in between), and it turns a hot key
 * from "every SET a read + write, each adding a sibling beside the other in-flight ones" into
 * "one read + write per key at a time per node", with no siblings among this node's own SETs.
 *
 * Only plain SET (and MSET) go through here: NX / XX / GET need their own read to decide.
 */
interface Batch {
  value: Buffer;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

interface KeyState {
  /** a batch waiting for the running write to finish; null when none */
  next: Batch | null;
}

export class SetCombiner {
  private readonly keys = new Map<string, KeyState>();
  private readonly write: (key: Buffer, value: Buffer) => Promise<void>;

  /** @param write the real SET: a read of the key's context and a write with it */
  constructor(write: (key: Buffer, value: Buffer) => Promise<void>) {
    this.write = write;
  }

  /** keys with a write in flight (for tests: back to 0 when idle) */
  get activeKeys(): number {
    return this.keys.size;
  }

  set(key: Buffer, value: Buffer): Promise<void> {
    const name = key.toString('latin1');
    const state = this.keys.get(name);
    if (state === undefined) {
      this.keys.set(name, { next: null });
      const done = this.write(key, value);
      void done.then(
        () => this.finished(name, key),
        () => this.finished(name, key),
      );
      return done;
    }
    return new Promise<void>((resolve, reject) => {
      if (state.next === null) state.next = { value, waiters: [] };
      else state.next.value = value;
      state.next.waiters.push({ resolve, reject });
    });
  }

  private finished(name: string, key: Buffer): void {
    const state = this.keys.get(name);
    if (state === undefined) return;
    const batch = state.next;
    if (batch === null) {
      this.keys.delete(name);
      return;
    }
    state.next = null;
    const done = this.write(key, batch.value);
    done.then(
      () => {
        for (const w of batch.waiters) w.resolve();
      },
      (e: unknown) => {
        for (const w of batch.waiters) w.reject(e);
      },
    );
    void done.then(
      () => this.finished(name, key),
      () => this.finished(name, key),
    );
  }
}
