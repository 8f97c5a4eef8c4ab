import { bloomHash1, bloomHash2, BloomFilter } from './bloom-filter.js';
import { CowBTree, type BTreeCursor, type BTreeSnapshot } from './cow-btree.js';
import type { Slab } from './slab.js';
import { OP_DELETE, opFields, readOp } from './write-batch.js';

/**
 * One version of one key in memory: the write-batch op at `op` in `slab` (see write-batch.ts), which
 * holds the value, or a tombstone with its write time (tombstones keep it so compaction can reap them
 * once the grace period has passed). `seq` orders writes: an older write that completes its
 * commit-log append late never overwrites a newer one.
 */
export interface MemEntry {
  readonly slab: Slab;
  readonly op: number;
  readonly opBytes: number;
  readonly seq: number;
  /**
   * The key's bloomHash1 and bloomHash2 as int32 (`>>> 0` gives them back; int32 stays a small
   * integer in the object), computed once at apply and reused by the flush's table bloom filter.
   */
  readonly h1: number;
  readonly h2: number;
}

export function isTombstoneEntry(e: MemEntry): boolean {
  return e.slab.buf[e.op] === OP_DELETE;
}

/** The entry's value as a view into its slab (valid as long as the entry), or null for a tombstone. */
export function entryValue(e: MemEntry): Buffer | null {
  readOp(e.slab.buf, e.op, e.slab.buf.length);
  return opFields.valueStart < 0 ? null : e.slab.buf.subarray(opFields.valueStart, opFields.valueStart + opFields.valueLength);
}

/** The tombstone's write time (0 for a put). */
export function entryTsMs(e: MemEntry): number {
  readOp(e.slab.buf, e.op, e.slab.buf.length);
  return opFields.tsMs;
}

/**
 * Per-entry heap cost beyond key and value bytes (key string header, entry object, value view, tree
 * slots, and the bloom filter's 1.25 to 2.5 bytes), measured roughly.
 */
const ENTRY_OVERHEAD_BYTES = 128;
/** What `count` writes of `bytes` record bytes will add to a memtable's size, at most. */
export function estimatedBytes(bytes: number, count: number): number {
  return bytes + count * (ENTRY_OVERHEAD_BYTES + 4);
}

/**
 * Keys the memtable's bloom filter is first sized for, when not told its capacity; it doubles
 * (rebuilt from the tree) as they fill it.
 */
const BLOOM_INITIAL_KEYS = 4096;

/**
 * The in-memory table: an ordered map from internal key to its newest entry, plus its size estimate.
 * A bloom filter over its keys (as RocksDB's memtable prefix bloom) answers most lookups of keys it
 * does not hold without a B-tree search — the common case of a get, which looks here first — using
 * the hashes the get computes once for every SSTable's filter too.
 * The active memtable takes writes; when full it is frozen and flushed to an SSTable while a fresh
 * one takes over. Writes whose commit-log append is still in flight are counted in `pendingWrites`,
 * so a flush waits for them (they belong to the commit-log segment this memtable covers).
 */
export class Memtable {
  private readonly tree = new CowBTree<MemEntry>();
  private bloomKeys: number;
  private bloom: BloomFilter;
  private bytes = 0;
  private pending = 0;
  private pendingBytesTotal = 0;
  private drainWaiters: (() => void)[] = [];
  /** Set when frozen: the commit-log segment that holds every write of this memtable. */
  segmentId = -1;
  /** commit-log bytes written for this memtable (for stats) */
  logBytes = 0;
  /** the slabs its entries point into (a flush job needs them) */
  private readonly slabs = new Set<Slab>();
  private lastSlab: Slab | undefined;

  /**
   * `capacityBytes`: the size at which the memtable will be frozen. Its bloom filter is then sized at
   * once for the most keys that size can hold (every new key costs at least ENTRY_OVERHEAD_BYTES + 4),
   * about 1 % of it, instead of being rebuilt by doubling as the memtable fills (measured: ~6 % of
   * the CPU time of a run of puts).
   */
  constructor(capacityBytes?: number) {
    this.bloomKeys = capacityBytes === undefined ? BLOOM_INITIAL_KEYS : Math.max(BLOOM_INITIAL_KEYS, Math.ceil(capacityBytes / (ENTRY_OVERHEAD_BYTES + 4)));
    this.bloom = BloomFilter.forKeys(this.bloomKeys);
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get count(): number {
    return this.tree.size;
  }

  get pendingWrites(): number {
    return this.pending;
  }

  /** the estimated size of the batches on their way here (see beginWrite) */
  get pendingBytes(): number {
    return this.pendingBytesTotal;
  }

  /** `h1`, `h2`: the key's bloomHash1 and bloomHash2, when the caller has them already. */
  get(key: string, h1 = bloomHash1(key), h2 = bloomHash2(key)): MemEntry | undefined {
    return this.bloom.mayContain(h1, h2) ? this.tree.get(key) : undefined;
  }

  /**
   * Sets `key` to the op at `op` in `slab` (`opBytes` long: counted as the entry's size) unless the
   * key holds a newer `seq` already.
   */
  apply(key: string, slab: Slab, op: number, opBytes: number, seq: number): void {
    const h1 = bloomHash1(key);
    const h2 = bloomHash2(key);
    const previous = this.get(key, h1, h2);
    if (previous !== undefined) {
      if (previous.seq > seq) return;
      this.bytes -= previous.opBytes;
    } else {
      this.bytes += key.length + ENTRY_OVERHEAD_BYTES;
      if (this.tree.size >= this.bloomKeys) this.growBloom();
      this.bloom.add(h1, h2);
    }
    this.bytes += opBytes;
    if (slab !== this.lastSlab) {
      this.slabs.add(slab);
      this.lastSlab = slab;
    }
    this.tree.set(key, { slab, op, opBytes, seq, h1: h1 | 0, h2: h2 | 0 });
  }

  /**
   * The entries in key order as a flush job's plan (table-jobs.ts: slab id, op offset and bloom hashes
   * per entry) with the slabs they point into. Only for a memtable nobody writes to any more (frozen).
   */
  flushPlan(): { plan: Int32Array; count: number; slabs: { id: number; sab: SharedArrayBuffer }[] } {
    const plan = new Int32Array(4 * this.tree.size);
    let n = 0;
    for (const c = this.tree.cursor(); c.valid; c.next()) {
      const e = c.value!;
      plan[n] = e.slab.id;
      plan[n + 1] = e.op;
      plan[n + 2] = e.h1;
      plan[n + 3] = e.h2;
      n += 4;
    }
    return { plan, count: n / 4, slabs: [...this.slabs].map((s) => ({ id: s.id, sab: s.sab })) };
  }

  private growBloom(): void {
    this.bloomKeys *= 2;
    const bloom = BloomFilter.forKeys(this.bloomKeys);
    for (const c = this.tree.cursor(); c.valid; c.next()) bloom.add(c.value!.h1 >>> 0, c.value!.h2 >>> 0);
    this.bloom = bloom;
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

  snapshot(): BTreeSnapshot<MemEntry> {
    return this.tree.snapshot();
  }

  /** Only for a memtable nobody writes to any more (frozen). */
  cursor(fromKey?: string): BTreeCursor<MemEntry> {
    return this.tree.cursor(fromKey);
  }
}
