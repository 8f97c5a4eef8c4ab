/**
 * Orders one connection's pipelined commands per key: a read starts after the earlier writes to its
 * keys have finished, a write after the earlier reads and writes. Commands on unrelated keys start at
 * once, so a pipeline of 16 commands on 16 keys makes 16 concurrent cluster requests, while
 * `SET k v; GET k` in one pipeline still reads its own write.
 *
 * 'set' is a plain SET, which goes through the node's SetCombiner: that keeps SETs of a key in
 * arrival order itself, so a 'set' does not wait for an earlier 'set' (only for earlier reads and
 * other writes), and consecutive pipelined SETs of one key can share one cluster write.
 *
 * On the hot path (one key, nothing to wait for) this costs one Map lookup, one entry and one extra
 * promise reaction per command.
 */
interface KeyTail {
  /** settles when the latest non-'set' write to the key has finished; null when it has */
  write: Promise<unknown> | null;
  /** 'set's registered since that write and not finished yet */
  sets: Set<Promise<unknown>> | null;
  /** settles once the latest 'set' has started (reached the SetCombiner); null when it started at once */
  setStarted: Promise<unknown> | null;
  /** reads registered since the latest write or 'set' and not finished yet */
  reads: Set<Promise<unknown>> | null;
  /** commands registered and not yet finished; the entry is dropped at zero */
  active: number;
}

export type Access = 'read' | 'write' | 'set';

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
    const gate = waits.length === 0 ? null : Promise.all(waits);
    const result = gate === null ? start() : gate.then(start);
    const done: Promise<void> = result.then(
      () => this.release(names, done),
      () => this.release(names, done),
    );
    const started = gate === null ? null : gate.then(noop);
    for (const name of names) this.register(name, mode, done, started);
    return result;
  }

  private runOne<T>(name: string, mode: Access, start: () => Promise<T>): Promise<T> {
    const tail = this.tails.get(name);
    let gate: Promise<unknown> | null = null;
    if (tail !== undefined) {
      const waits: Promise<unknown>[] = [];
      collectWaits(tail, mode, waits);
      if (waits.length > 0) gate = waits.length === 1 ? waits[0] : Promise.all(waits);
    }
    const result = gate === null ? start() : gate.then(start);
    const done: Promise<void> = result.then(
      () => this.releaseOne(name, done),
      () => this.releaseOne(name, done),
    );
    // reactions run in the order they were added: this one settles right after start() ran
    const started = gate === null || mode !== 'set' ? null : gate.then(noop);
    this.register(name, mode, done, started);
    return result;
  }

  private register(name: string, mode: Access, done: Promise<unknown>, started: Promise<unknown> | null): void {
    let tail = this.tails.get(name);
    if (tail === undefined) {
      tail = { write: null, sets: null, setStarted: null, reads: null, active: 0 };
      this.tails.set(name, tail);
    }
    if (mode === 'write') {
      tail.write = done;
      tail.sets = null;
      tail.setStarted = null;
      tail.reads = null;
    } else if (mode === 'set') {
      (tail.sets ??= new Set()).add(done);
      tail.setStarted = started;
      // later commands wait for this set, which waits for those reads
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
    tail.sets?.delete(done);
    if (tail.write === done) tail.write = null;
    if (--tail.active === 0) this.tails.delete(name);
  }
}

function noop(): void {}

function collectWaits(tail: KeyTail, mode: Access, out: Promise<unknown>[]): void {
  if (tail.write !== null) out.push(tail.write);
  if (mode === 'set') {
    if (tail.setStarted !== null) out.push(tail.setStarted);
  } else if (tail.sets !== null) {
    for (const w of tail.sets) out.push(w);
  }
  if (mode !== 'read' && tail.reads !== null) for (const r of tail.reads) out.push(r);
}

/** latin1 maps every byte to one UTF-16 unit, so distinct binary keys get distinct names */
function keyName(key: Uint8Array): string {
  return (Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength)).toString('latin1');
}
