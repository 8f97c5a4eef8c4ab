import { internalKeyHeads, sortedOrder } from './key-sort.js';
import type { Slab } from './slab.js';
import { OP_DELETE, opFields, readOp } from './write-batch.js';

/**
 * Per-entry heap cost beyond the op's bytes (key string, entry object, hash-table slots), measured
 * roughly.
 */
const ENTRY_OVERHEAD_BYTES = 128;

/** What `count` writes of `bytes` record bytes will add to a memtable's size, at most. */
export function estimatedBytes(bytes: number, count: number): number {
  return bytes + count * (ENTRY_OVERHEAD_BYTES + COLUMN_BYTES + 4);
}

/** Entries of a memtable in key order, taken at one moment (a scan's view): key i is entry idx[i]. */
export interface SortedEntries {
  memtable: Memtable;
  keys: string[];
  idx: Int32Array;
}

const INITIAL_ENTRIES = 1024;
/** an entry's share of the columns (an int32, a float64, a slab pointer, map growth) */
const COLUMN_BYTES = 24;

/**
 * The in-memory table: a hash map from internal key to its newest entry, plus its size estimate.
 *
 * An entry is one version of one key: the write-batch op at ops[i] in slabOf[i] (see write-batch.ts),
 * which holds the value, or a tombstone with its write time (tombstones keep it so compaction can
 * reap them once the grace period has passed). seqs[i] orders writes: an older write that completes
 * its commit-log append late never overwrites a newer one. Entries live in columns (typed arrays),
 * not in an object each — a put allocates no entry object for the garbage collector to copy out of
 * the young generation — and are appended, never changed: a newer write of a key gets a new index,
 * so an index held by a scan keeps showing the version the scan saw.
 *
 * Why a hash map and not an ordered tree: a write is one hash insert (measured about half the CPU of
 * a B+tree insert, whose cost is cache misses on a large tree), and a get one lookup; order is only
 * needed by a flush — which the table worker sorts off the engine's thread — and by scans, which sort
 * the keys of their partition range when they start (scans serve anti-entropy and transfers, not the
 * request path).
 *
 * The active memtable takes writes; when full it is frozen and flushed to an SSTable while a fresh
 * one takes over. Writes whose commit-log append is still in flight are counted in `pendingWrites`,
 * so a flush waits for them (they belong to the commit-log segment this memtable covers).
 */
export class Memtable {
  /** key → index of its newest entry */
  private readonly map = new Map<string, number>();
  private slabOf: Slab[] = [];
  private ops = new Int32Array(INITIAL_ENTRIES);
  private seqs = new Float64Array(INITIAL_ENTRIES);
  private entries = 0;
  private bytes = 0;
  private pending = 0;
  private pendingBytesTotal = 0;
  private drainWaiters: (() => void)[] = [];
  /** Set when frozen: the commit-log segment that holds every write of this memtable. */
  segmentId = -1;
  /** the slabs its entries point into (a flush job needs them) */
  private readonly slabs = new Set<Slab>();
  private lastSlab: Slab | undefined;

  get sizeBytes(): number {
    return this.bytes;
  }

  get count(): number {
    return this.map.size;
  }

  get pendingWrites(): number {
    return this.pending;
  }

  /** the estimated size of the batches on their way here (see beginWrite) */
  get pendingBytes(): number {
    return this.pendingBytesTotal;
  }

  /** The index of key's newest entry, or -1. */
  get(key: string): number {
    const i = this.map.get(key);
    return i === undefined ? -1 : i;
  }

  isTombstone(i: number): boolean {
    return this.slabOf[i].buf[this.ops[i]] === OP_DELETE;
  }

  /** Entry i's value as a view into its slab (valid as long as the memtable), or null for a tombstone. */
  value(i: number): Buffer | null {
    const buf = this.slabOf[i].buf;
    readOp(buf, this.ops[i], buf.length);
    return opFields.valueStart < 0 ? null : buf.subarray(opFields.valueStart, opFields.valueStart + opFields.valueLength);
  }

  /** Entry i's tombstone write time (0 for a put). */
  tsMs(i: number): number {
    const buf = this.slabOf[i].buf;
    readOp(buf, this.ops[i], buf.length);
    return opFields.tsMs;
  }

  /**
   * Sets `key` to the op at `op` in `slab` (`opBytes` long) unless the key holds a newer `seq`
   * already. The size counts every op applied, not just the newest per key: the slabs keep the bytes
   * of overwritten versions until the memtable is dropped, so a hot key rewritten a million times
   * fills the memtable as a million keys would (as RocksDB's arena does).
   */
  apply(key: string, slab: Slab, op: number, opBytes: number, seq: number): void {
    const previous = this.map.get(key);
    if (previous !== undefined) {
      if (this.seqs[previous] > seq) return;
    } else this.bytes += key.length + ENTRY_OVERHEAD_BYTES;
    this.bytes += opBytes + COLUMN_BYTES;
    if (slab !== this.lastSlab) {
      this.slabs.add(slab);
      this.lastSlab = slab;
    }
    const i = this.entries++;
    if (i === this.ops.length) this.grow();
    this.slabOf.push(slab);
    this.ops[i] = op;
    this.seqs[i] = seq;
    this.map.set(key, i);
  }

  private grow(): void {
    const n = this.ops.length * 2;
    const ops = new Int32Array(n);
    ops.set(this.ops);
    this.ops = ops;
    const seqs = new Float64Array(n);
    seqs.set(this.seqs);
    this.seqs = seqs;
  }

  /**
   * The entries (in no order: the flush job sorts them) as a flush job's plan (table-jobs.ts: slab id
   * and op offset per entry) with the slabs they point into. Only for a frozen memtable.
   */
  flushPlan(): { plan: Int32Array; count: number; slabs: { id: number; sab: SharedArrayBuffer }[] } {
    const plan = new Int32Array(2 * this.map.size);
    let n = 0;
    for (const i of this.map.values()) {
      plan[n] = this.slabOf[i].id;
      plan[n + 1] = this.ops[i];
      n += 2;
    }
    return { plan, count: n / 2, slabs: [...this.slabs].map((s) => ({ id: s.id, sab: s.sab })) };
  }

  /** The entries with keys in [fromKey, stopKey) (stopKey undefined: no upper bound), in key order, as of now. */
  sorted(fromKey: string, stopKey: string | undefined): SortedEntries {
    const found: string[] = [];
    for (const k of this.map.keys()) if (k >= fromKey && (stopKey === undefined || k < stopKey)) found.push(k);
    const order = sortedOrder(found, ...internalKeyHeads(found));
    const keys: string[] = new Array(found.length);
    const idx = new Int32Array(found.length);
    for (let j = 0; j < found.length; j++) {
      keys[j] = found[order[j]];
      idx[j] = this.map.get(keys[j])!;
    }
    return { memtable: this, keys, idx };
  }

  /** A batch of `bytes` (see estimatedBytes) is on its way to this memtable. */
  beginWrite(bytes: number): void {
    this.pending++;
    this.pendingBytesTotal += bytes;
  }

  endWrite(bytes: number): void {
    this.pending--;
    this.pendingBytesTotal -= bytes;
    if (this.pending === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves once no commit-log append for this memtable is in flight. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
