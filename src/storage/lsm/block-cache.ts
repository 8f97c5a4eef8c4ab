import type { Block } from './sstable-format.js';

/** A cached block, linked into the cache's LRU list; `slots[index]` points back at it. */
class CacheEntry {
  prev: CacheEntry | undefined;
  next: CacheEntry | undefined;

  constructor(readonly slots: BlockSlots, readonly index: number, readonly block: Block) {}
}

/** One table's place in the cache: slot i holds the entry of its block i while that is cached. */
export type BlockSlots = (CacheEntry | undefined)[];

/** Read buffers are allocated in multiples of this, so buffers of evicted blocks fit new blocks. */
const BUFFER_GRANULE = 512;
/** How many buffers of evicted blocks are kept for reuse, at most. */
const MAX_FREE_BUFFERS = 64;

/**
 * LRU cache of verified data blocks, bounded in bytes and shared by every table of an engine. Each
 * table owns an array of slots (`newSlots`), so a lookup is an array index, not a hash; the entries
 * form a doubly linked list from least to most recently used, so a hit is a few pointer moves.
 *
 * Buffer reuse: a block read with `takeBuffer` storage (see SstableReader.loadBlockSync) hands that
 * storage back when it leaves the cache, and the next read fills it: a steady stream of cache misses
 * then allocates nothing (a fresh 4 KiB ArrayBuffer per miss otherwise costs more than the read).
 * So a block obtained from the cache must be used before the cache next changes (before any await);
 * a block that outlives that must not be recyclable (`Block.storage` unset).
 */
export class BlockCache {
  private head: CacheEntry | undefined;
  private tail: CacheEntry | undefined;
  private bytes = 0;
  private readonly freeBuffers: Buffer[] = [];
  hits = 0;
  misses = 0;

  constructor(private readonly capacityBytes: number) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  newSlots(blockCount: number): BlockSlots {
    return new Array<CacheEntry | undefined>(blockCount).fill(undefined);
  }

  get(slots: BlockSlots, i: number): Block | undefined {
    const e = slots[i];
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (e !== this.tail) {
      this.unlink(e);
      this.append(e);
    }
    return e.block;
  }

  set(slots: BlockSlots, i: number, block: Block): void {
    if (this.capacityBytes <= 0) return;
    const old = slots[i];
    if (old !== undefined) this.remove(old);
    const e = new CacheEntry(slots, i, block);
    slots[i] = e;
    this.append(e);
    this.bytes += block.sizeBytes;
    while (this.bytes > this.capacityBytes && this.head !== undefined) this.remove(this.head);
  }

  /** Drops every block of a table (it was compacted away or moved aside). */
  evictTable(slots: BlockSlots): void {
    for (let i = 0; i < slots.length; i++) {
      const e = slots[i];
      if (e !== undefined) this.remove(e);
    }
  }

  /**
   * A buffer of at least `length` bytes to read a block into: the storage of an evicted block when
   * one fits, else a new one (rounded up, so that it fits a similar block once it is handed back).
   */
  takeBuffer(length: number): Buffer {
    const capacity = Math.ceil(length / BUFFER_GRANULE) * BUFFER_GRANULE;
    const free = this.freeBuffers;
    for (let k = free.length - 1; k >= 0; k--) {
      if (free[k].length === capacity) {
        const b = free[k];
        free[k] = free[free.length - 1];
        free.pop();
        return b;
      }
    }
    return Buffer.allocUnsafeSlow(capacity);
  }

  /** Gives back a buffer from takeBuffer that nothing refers to any more. */
  releaseBuffer(buffer: Buffer): void {
    if (this.freeBuffers.length < MAX_FREE_BUFFERS) this.freeBuffers.push(buffer);
  }

  private remove(e: CacheEntry): void {
    this.unlink(e);
    e.slots[e.index] = undefined;
    this.bytes -= e.block.sizeBytes;
    const storage = e.block.storage;
    if (storage !== undefined) this.releaseBuffer(storage);
  }

  private unlink(e: CacheEntry): void {
    if (e.prev === undefined) this.head = e.next;
    else e.prev.next = e.next;
    if (e.next === undefined) this.tail = e.prev;
    else e.next.prev = e.prev;
    e.prev = undefined;
    e.next = undefined;
  }

  private append(e: CacheEntry): void {
    e.prev = this.tail;
    if (this.tail === undefined) this.head = e;
    else this.tail.next = e;
    this.tail = e;
  }
}
