/**
 * Orders one connection's pipelined commands per key: a read starts after the earlier writes to its
 * keys have finished, a write after the earlier reads and writes. Commands on unrelated keys start at
 * once, so a pipeline of 16 commands on 16 keys makes 16 concurrent cluster requests, while
 * `SET k v; GET k` in one pipeline still reads its own write.
 */
interface KeyTail {
  /** settles when the latest write to the key has finished */
  write: Promise<void> | null;
  /** reads started after that write and not finished yet */
  reads: Set<Promise<void>>;
  /** commands registered and not yet finished; the entry is dropped at zero */
  active: number;
}

export class KeyOrder {
  private readonly tails = new Map<string, KeyTail>();

  /** keys currently tracked (for tests: must return to 0 when the connection is idle) */
  get trackedKeys(): number {
    return this.tails.size;
  }

  run<T>(keys: readonly Uint8Array[], mode: 'read' | 'write', start: () => Promise<T>): Promise<T> {
    if (keys.length === 0) return start();
    const names = keys.map(keyName);
    const waits: Promise<void>[] = [];
    // collect every wait before registering, so a key named twice does not wait for itself
    for (const name of names) {
      const tail = this.tails.get(name);
      if (tail === undefined) continue;
      if (tail.write !== null) waits.push(tail.write);
      if (mode === 'write') waits.push(...tail.reads);
    }
    const result = waits.length === 0 ? start() : Promise.all(waits).then(start);
    const done: Promise<void> = result.then(
      () => undefined,
      () => undefined,
    );
    for (const name of names) {
      let tail = this.tails.get(name);
      if (tail === undefined) {
        tail = { write: null, reads: new Set(), active: 0 };
        this.tails.set(name, tail);
      }
      if (mode === 'write') {
        tail.write = done;
        tail.reads = new Set();
      } else {
        tail.reads.add(done);
      }
      tail.active++;
    }
    void done.then(() => {
      for (const name of names) {
        const tail = this.tails.get(name);
        if (tail === undefined) continue;
        tail.reads.delete(done);
        if (--tail.active === 0) this.tails.delete(name);
      }
    });
    return result;
  }
}

/** latin1 maps every byte to one UTF-16 unit, so distinct binary keys get distinct names */
function keyName(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
