/**
 * Orders one connection's pipelined commands per key: a read starts after the earlier writes to its
 * keys have finished, a write after the earlier reads and writes. Commands on unrelated keys start at
 * once, so a pipeline of 16 commands on 16 keys makes 16 concurrent cluster requests, while
 * `SET k v; GET k` in one pipeline still reads its own write.
 *
 * On the hot path (one key, nothing to wait for) this costs one Map lookup, one entry and one extra
 * promise reaction per command.
 */
interface KeyTail {
  /** settles when the latest write to the key has finished */
  write: Promise<unknown> | null;
  /** reads started after that write and not finished yet */
  reads: Set<Promise<unknown>> | null;
  /** commands registered and not yet finished; the entry is dropped at zero */
  active: number;
}

export type Access = 'read' | 'write';

export class KeyOrder {
  private readonly tails = new Map<string, KeyTail>();

  /** keys currently tracked (for tests: must return to 0 when the connection is idle) */
  get trackedKeys(): number {
    return this.tails.size;
  }

  run<T>(keys: readonly Uint8Array[], mode: Access, start: () => Promise<T>): Promise<T> {
    if (keys.length === 0) return start();
    if (keys.length === 1) return this.runOne(keyName(keys[0]), mode, start);
    const names = keys.map(keyName);
    const waits: Promise<unknown>[] = [];
    // collect every wait before registering, so a key named twice does not wait for itself
    for (const name of names) {
      const tail = this.tails.get(name);
      if (tail !== undefined) collectWaits(tail, mode, waits);
    }
    const result = waits.length === 0 ? start() : Promise.all(waits).then(start);
    const done: Promise<void> = result.then(
      () => this.release(names, done),
      () => this.release(names, done),
    );
    for (const name of names) this.register(name, mode, done);
    return result;
  }

  private runOne<T>(name: string, mode: Access, start: () => Promise<T>): Promise<T> {
    const tail = this.tails.get(name);
    let result: Promise<T>;
    if (tail === undefined || (tail.write === null && (mode === 'read' || tail.reads === null || tail.reads.size === 0))) {
      result = start();
    } else if (mode === 'read' || tail.reads === null || tail.reads.size === 0) {
      result = (tail.write as Promise<unknown>).then(start);
    } else {
      const waits: Promise<unknown>[] = [];
      collectWaits(tail, mode, waits);
      result = Promise.all(waits).then(start);
    }
    const done: Promise<void> = result.then(
      () => this.releaseOne(name, done),
      () => this.releaseOne(name, done),
    );
    this.register(name, mode, done);
    return result;
  }

  private register(name: string, mode: Access, done: Promise<unknown>): void {
    let tail = this.tails.get(name);
    if (tail === undefined) {
      tail = { write: null, reads: null, active: 0 };
      this.tails.set(name, tail);
    }
    if (mode === 'write') {
      tail.write = done;
      tail.reads = null;
    } else {
      (tail.reads ??= new Set()).add(done);
    }
    tail.active++;
  }

  private release(names: readonly string[], done: Promise<unknown>): void {
    for (const name of names) this.releaseOne(name, done);
  }

  private releaseOne(name: string, done: Promise<unknown>): void {
    const tail = this.tails.get(name);
    if (tail === undefined) return;
    tail.reads?.delete(done);
    if (tail.write === done) tail.write = null;
    if (--tail.active === 0) this.tails.delete(name);
  }
}

function collectWaits(tail: KeyTail, mode: Access, out: Promise<unknown>[]): void {
  if (tail.write !== null) out.push(tail.write);
  if (mode === 'write' && tail.reads !== null) for (const r of tail.reads) out.push(r);
}

/** latin1 maps every byte to one UTF-16 unit, so distinct binary keys get distinct names */
function keyName(key: Uint8Array): string {
  return (Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength)).toString('latin1');
}
