import { bloomHash1, bloomHash2, BloomFilter } from './bloom-filter.js';
import { CowBTree, type BTreeCursor, type BTreeSnapshot } from './cow-btree.js';

/**
 * One version of one key in memory. `value === null` is a tombstone, written at `tsMs` (tombstones
 * keep their write time so compaction can reap them once the grace period has passed). `seq` orders
 * writes: an older write that completes its commit-log append late never overwrites a newer one.
 */
export interface MemEntry {
  readonly value: Uint8Array | null;
  readonly tsMs: number;
  readonly seq: number;
  /**
   * The key's bloomHash1 and bloomHash2 as int32 (`>>> 0` gives them back; int32 stays a small
   * integer in the object), computed once at apply and reused by the flush's table bloom filter.
   */
  readonly h1: number;
  readonly h2: number;
}

/**
 * Per-entry heap cost beyond key and value bytes (key string header, entry object, value view, tree
 * slots, and the bloom filter's 1.25 to 2.5 bytes), measured roughly.
 */
const ENTRY_OVERHEAD_BYTES = 128;
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
  private drainWaiters: (() => void)[] = [];
  /** Set when frozen: the commit-log segment that holds every write of this memtable. */
  segmentId = -1;
  /** commit-log bytes written for this memtable (for stats) */
  logBytes = 0;

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

  /** `h1`, `h2`: the key's bloomHash1 and bloomHash2, when the caller has them already. */
  get(key: string, h1 = bloomHash1(key), h2 = bloomHash2(key)): MemEntry | undefined {
    return this.bloom.mayContain(h1, h2) ? this.tree.get(key) : undefined;
  }

  /** Sets `key` to `value` (null: a tombstone written at `tsMs`) unless it holds a newer `seq` already. */
  apply(key: string, value: Uint8Array | null, tsMs: number, seq: number): void {
    const h1 = bloomHash1(key);
    const h2 = bloomHash2(key);
    const previous = this.get(key, h1, h2);
    if (previous !== undefined) {
      if (previous.seq > seq) return;
      this.bytes -= previous.value === null ? 8 : previous.value.length;
    } else {
      this.bytes += key.length + ENTRY_OVERHEAD_BYTES;
      if (this.tree.size >= this.bloomKeys) this.growBloom();
      this.bloom.add(h1, h2);
    }
    this.bytes += value === null ? 8 : value.length;
    this.tree.set(key, { value, tsMs, seq, h1: h1 | 0, h2: h2 | 0 });
  }

  private growBloom(): void {
    this.bloomKeys *= 2;
    const bloom = BloomFilter.forKeys(this.bloomKeys);
    for (const c = this.tree.cursor(); c.valid; c.next()) bloom.add(c.value!.h1 >>> 0, c.value!.h2 >>> 0);
    this.bloom = bloom;
  }

  beginWrite(): void {
    this.pending++;
  }

  endWrite(): void {
    this.pending--;
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
