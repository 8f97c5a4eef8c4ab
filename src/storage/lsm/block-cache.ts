import type { Block } from './sstable-format.js';

/**
 * LRU cache of decoded data blocks, bounded in bytes and shared by every table of an engine. A Map
 * keeps insertion order, so re-inserting on a hit makes the oldest entry the first one to evict.
 * Keys are numbers: tableCacheId · 2^24 + block index (a table has far fewer than 2^24 blocks).
 */
export const BLOCKS_PER_TABLE_ID = 1 << 24;

export class BlockCache {
  private readonly blocks = new Map<number, Block>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly capacityBytes: number) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  get(key: number): Block | undefined {
    const block = this.blocks.get(key);
    if (block === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.blocks.delete(key);
    this.blocks.set(key, block);
    return block;
  }

  set(key: number, block: Block): void {
    if (this.capacityBytes <= 0) return;
    const old = this.blocks.get(key);
    if (old !== undefined) {
      this.bytes -= old.sizeBytes;
      this.blocks.delete(key);
    }
    this.blocks.set(key, block);
    this.bytes += block.sizeBytes;
    if (this.bytes > this.capacityBytes) {
      for (const [k, b] of this.blocks) {
        if (this.bytes <= this.capacityBytes) break;
        this.blocks.delete(k);
        this.bytes -= b.sizeBytes;
      }
    }
  }

  /** Drops every block of a table (it was compacted away or moved aside). */
  evictTable(tableCacheId: number, blockCount: number): void {
    const base = tableCacheId * BLOCKS_PER_TABLE_ID;
    for (let i = 0; i < blockCount; i++) {
      const b = this.blocks.get(base + i);
      if (b !== undefined) {
        this.blocks.delete(base + i);
        this.bytes -= b.sizeBytes;
      }
    }
  }
}
