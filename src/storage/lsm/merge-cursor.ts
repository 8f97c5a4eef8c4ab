import type { SortedEntries } from './memtable.js';

/** One ordered stream of entries (a memtable snapshot or a table cursor). */
export interface EntrySource {
  valid: boolean;
  key: string;
  readonly isTombstone: boolean;
  readonly tombstoneTsMs: number;
  /** the current value's bytes; valid until the source moves on */
  valueView(): Uint8Array;
  next(): Promise<void> | undefined;
}

export class MemtableSource implements EntrySource {
  valid: boolean;
  key = '';
  private i = 0;

  constructor(private readonly sorted: SortedEntries) {
    this.valid = sorted.keys.length > 0;
    if (this.valid) this.key = sorted.keys[0];
  }

  get isTombstone(): boolean {
    return this.sorted.memtable.isTombstone(this.sorted.idx[this.i]);
  }

  get tombstoneTsMs(): number {
    return this.sorted.memtable.tsMs(this.sorted.idx[this.i]);
  }

  valueView(): Uint8Array {
    return this.sorted.memtable.value(this.sorted.idx[this.i])!;
  }

  next(): undefined {
    this.i++;
    this.valid = this.i < this.sorted.keys.length;
    if (this.valid) this.key = this.sorted.keys[this.i];
    return undefined;
  }
}

/**
 * K-way merge of sources given newest first: for each key the newest source's entry wins and the
 * others' entries for that key are skipped. A source that fails (e.g. a corrupt block) is reported
 * to `onSourceError`, which may rethrow to stop the merge or return to drop just that source.
 */
export class MergeCursor {
  private current = -1;
  private readonly dead: boolean[];

  private constructor(private readonly sources: EntrySource[], private readonly onSourceError: (index: number, err: unknown) => void) {
    this.dead = sources.map(() => false);
  }

  static create(sources: EntrySource[], onSourceError: (index: number, err: unknown) => void): MergeCursor {
    const m = new MergeCursor(sources, onSourceError);
    m.pick();
    return m;
  }

  get valid(): boolean {
    return this.current >= 0;
  }

  get key(): string {
    return this.sources[this.current].key;
  }

  get top(): EntrySource {
    return this.sources[this.current];
  }

  /** Moves past the current key in every source that holds it. */
  async next(): Promise<void> {
    const key = this.key;
    for (let i = 0; i < this.sources.length; i++) {
      const s = this.sources[i];
      if (this.dead[i] || !s.valid || s.key !== key) continue;
      try {
        const p = s.next();
        if (p !== undefined) await p;
      } catch (err) {
        this.dead[i] = true;
        this.onSourceError(i, err);
      }
    }
    this.pick();
  }

  private pick(): void {
    let best = -1;
    let bestKey = '';
    for (let i = 0; i < this.sources.length; i++) {
      const s = this.sources[i];
      if (this.dead[i] || !s.valid) continue;
      if (best < 0 || s.key < bestKey) {
        best = i;
        bestKey = s.key;
      }
    }
    this.current = best;
  }
}
