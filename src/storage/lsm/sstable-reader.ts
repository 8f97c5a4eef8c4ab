import type { FileHandle, FS } from '../fs/fs.js';
import { crc32c } from '../crc32c.js';
import { BloomFilter } from './bloom-filter.js';
import { canReadSync, type SyncReadableHandle } from './pread-fs.js';
import type { BlockCache, BlockSlots } from './block-cache.js';
import { CorruptTableError, decodeFooter, FOOTER_BYTES, KIND_TOMBSTONE, openBlock, type Block, type TableMeta } from './sstable-format.js';
import { readVarint, varintEnd } from './varint.js';

/**
 * An open SSTable: footer, sparse index, bloom filter and meta live in memory; data blocks are read on
 * demand through the shared block cache. Reference-counted: the engine's table list holds one
 * reference and every read or scan in flight holds one, so compaction can drop a table from the list
 * while a scan still reads it; the file is closed (and deleted, when obsolete) at the last release.
 */
export class SstableReader {
  private refs = 1;
  private readonly pendingLoads = new Map<number, Promise<Block>>();
  /** set by the owner: what to do once nobody reads the table any more */
  onReleased: ((reader: SstableReader) => void) | undefined;
  private syncReads = false;
  /** failed a checksum and is being moved aside */
  quarantined = false;
  private readonly cacheSlots: BlockSlots;

  private constructor(
    readonly fileName: string,
    readonly sizeBytes: number,
    private readonly handle: FileHandle,
    readonly meta: TableMeta,
    private readonly bloom: BloomFilter,
    private readonly firstKeys: string[],
    private readonly blockOffsets: Float64Array,
    private readonly blockLengths: Uint32Array,
    private readonly cache: BlockCache,
  ) {
    this.cacheSlots = cache.newSlots(firstKeys.length);
  }

  /** Opens and verifies the tail of a table; throws CorruptTableError when it does not check out. */
  static async open(fs: FS, path: string, fileName: string, cache: BlockCache): Promise<SstableReader> {
    const handle = await fs.openRead(path);
    try {
      const size = await handle.size();
      if (size < FOOTER_BYTES) throw new CorruptTableError(fileName, 0, `file too short (${size} bytes)`);
      const footer = decodeFooter(Buffer.from(await readExactly(handle, size - FOOTER_BYTES, FOOTER_BYTES, fileName)), fileName, size);
      const tailLength = footer.indexLength + footer.bloomLength + footer.metaLength;
      const tail = Buffer.from(await readExactly(handle, footer.indexOffset, tailLength, fileName));
      const index = tail.subarray(0, footer.indexLength);
      const bloomBytes = tail.subarray(footer.indexLength, footer.indexLength + footer.bloomLength);
      const metaBytes = tail.subarray(footer.indexLength + footer.bloomLength);
      if (crc32c(index) !== footer.indexCrc) throw new CorruptTableError(fileName, footer.indexOffset, 'index checksum mismatch');
      if (crc32c(bloomBytes) !== footer.bloomCrc) throw new CorruptTableError(fileName, footer.indexOffset + footer.indexLength, 'bloom checksum mismatch');
      if (crc32c(metaBytes) !== footer.metaCrc) throw new CorruptTableError(fileName, footer.indexOffset + footer.indexLength + footer.bloomLength, 'meta checksum mismatch');
      let meta: TableMeta;
      let bloom: BloomFilter;
      const firstKeys: string[] = [];
      const offsets: number[] = [];
      const lengths: number[] = [];
      try {
        meta = JSON.parse(metaBytes.toString('utf8')) as TableMeta;
        bloom = new BloomFilter(Uint8Array.from(bloomBytes));
        let p = 0;
        while (p < index.length) {
          const keyLen = readVarint(index, p, index.length);
          p = varintEnd;
          if (p + keyLen + 6 > index.length) throw new RangeError('index entry runs past its end');
          firstKeys.push(index.latin1Slice(p, p + keyLen));
          p += keyLen;
          offsets.push(index.readUIntLE(p, 6));
          p += 6;
          lengths.push(readVarint(index, p, index.length));
          p = varintEnd;
        }
      } catch (err) {
        throw new CorruptTableError(fileName, footer.indexOffset, `malformed tail: ${(err as Error).message}`);
      }
      if (firstKeys.length !== meta.blockCount || firstKeys.length === 0) {
        throw new CorruptTableError(fileName, footer.indexOffset, 'index and meta disagree on the block count');
      }
      return new SstableReader(fileName, size, handle, meta, bloom, firstKeys, Float64Array.from(offsets), Uint32Array.from(lengths), cache);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  get blockCount(): number {
    return this.firstKeys.length;
  }

  get bloomSizeBytes(): number {
    return this.bloom.sizeBytes;
  }

  mayContain(key: string, h1: number, h2: number): boolean {
    return key >= this.meta.minKey && key <= this.meta.maxKey && this.bloom.mayContain(h1, h2);
  }

  /** The block that would hold `key` (the last whose first key is <= key), or -1. */
  blockFor(key: string): number {
    const keys = this.firstKeys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Block i if cached; valid only until the cache next changes (see BlockCache): use it before any await. */
  cachedBlock(i: number): Block | undefined {
    return this.cache.get(this.cacheSlots, i);
  }

  /** Reads, verifies, decodes and caches block i (concurrent loads of one block share the read). */
  loadBlock(i: number): Promise<Block> {
    const pending = this.pendingLoads.get(i);
    if (pending !== undefined) return pending;
    const load = (async () => {
      try {
        const stored = await readExactly(this.handle, this.blockOffsets[i], this.blockLengths[i], this.fileName);
        const block = openBlock(Buffer.from(stored.buffer, stored.byteOffset, stored.length), this.fileName, this.blockOffsets[i]);
        this.cache.set(this.cacheSlots, i, block);
        return block;
      } finally {
        this.pendingLoads.delete(i);
      }
    })();
    this.pendingLoads.set(i, load);
    return load;
  }

  /**
   * Loads block i synchronously when the file handle can read synchronously (see pread-fs.ts);
   * undefined when it cannot. Verifies and caches like loadBlock, into a buffer the cache recycles:
   * the block is valid only until the cache next changes (use it before any await).
   */
  loadBlockSync(i: number): Block | undefined {
    if (!this.syncReads) return undefined;
    const offset = this.blockOffsets[i];
    const length = this.blockLengths[i];
    const raw = this.cache.takeBuffer(length);
    let block: Block;
    try {
      const n = (this.handle as SyncReadableHandle).readSync(offset, length, raw).length;
      if (n < length) throw new CorruptTableError(this.fileName, offset, 'short read');
      block = openBlock(raw.subarray(0, length), this.fileName, offset);
    } catch (err) {
      this.cache.releaseBuffer(raw);
      throw err;
    }
    // a compressed block was inflated into a buffer of its own
    if (block.payload.buffer === raw.buffer) block.storage = raw;
    else this.cache.releaseBuffer(raw);
    this.cache.set(this.cacheSlots, i, block);
    return block;
  }

  /** Uses synchronous block reads for gets when the handle offers them. */
  enableSyncReads(): void {
    this.syncReads = canReadSync(this.handle);
  }

  /**
   * Reads blocks [from, to) with one read (for scans and compaction, which should not churn the
   * cache); returns them decoded and verified.
   */
  async readBlocks(from: number, to: number): Promise<Block[]> {
    const start = this.blockOffsets[from];
    const end = this.blockOffsets[to - 1] + this.blockLengths[to - 1];
    const raw = await readExactly(this.handle, start, end - start, this.fileName);
    const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
    const out: Block[] = [];
    for (let i = from; i < to; i++) {
      const at = this.blockOffsets[i] - start;
      out.push(openBlock(buf.subarray(at, at + this.blockLengths[i]), this.fileName, this.blockOffsets[i]));
    }
    return out;
  }

  /** How many blocks from `from` fit in about `bytes` (at least one). */
  blocksWithin(from: number, bytes: number): number {
    let to = from + 1;
    const limit = this.blockOffsets[from] + bytes;
    while (to < this.firstKeys.length && this.blockOffsets[to] + this.blockLengths[to] <= limit) to++;
    return to;
  }

  ref(): void {
    if (this.refs <= 0) throw new Error(`sstable ${this.fileName} used after release`);
    this.refs++;
  }

  unref(): void {
    this.refs--;
    if (this.refs === 0) {
      this.cache.evictTable(this.cacheSlots);
      void this.handle.close().catch(() => undefined);
      this.onReleased?.(this);
    }
  }
}

/**
 * Sequential reader over one table from a start key, for scans and compaction. Reads ahead a few
 * hundred KiB at a time.
 */
export class TableCursor {
  private blocks: Block[] = [];
  private blockPos = 0;
  private nextBlock = 0;
  private block: Block | undefined;
  private idx = 0;
  valid = false;
  key = '';
  private kind = 0;
  private valueStart = 0;
  private valueEnd = 0;

  private constructor(private readonly table: SstableReader, private readonly readAheadBytes: number) {}

  static async open(table: SstableReader, fromKey: string | undefined, readAheadBytes = 256 * 1024): Promise<TableCursor> {
    const c = new TableCursor(table, readAheadBytes);
    const first = fromKey === undefined ? 0 : Math.max(0, table.blockFor(fromKey));
    c.nextBlock = first;
    await c.fill();
    if (c.block !== undefined && fromKey !== undefined) c.idx = c.block.lowerBound(fromKey);
    await c.settle();
    return c;
  }

  get isTombstone(): boolean {
    return this.kind === KIND_TOMBSTONE;
  }

  get tombstoneTsMs(): number {
    return this.block!.payload.readDoubleLE(this.valueStart);
  }

  /** A view of the current value, valid until the cursor moves on. */
  valueView(): Buffer {
    return this.block!.payload.subarray(this.valueStart, this.valueEnd);
  }

  next(): Promise<void> | undefined {
    this.idx++;
    if (this.block !== undefined && this.idx < this.block.count) {
      this.load();
      return undefined;
    }
    return this.settle();
  }

  private load(): void {
    const b = this.block!;
    b.parse(this.idx);
    this.key = b.parsedKey();
    this.kind = b.kind;
    this.valueStart = b.valueStart;
    this.valueEnd = b.valueEnd;
  }

  private async fill(): Promise<void> {
    this.block = undefined;
    this.idx = 0;
    if (this.blockPos >= this.blocks.length) {
      if (this.nextBlock >= this.table.blockCount) return;
      const to = this.table.blocksWithin(this.nextBlock, this.readAheadBytes);
      this.blocks = await this.table.readBlocks(this.nextBlock, to);
      this.blockPos = 0;
      this.nextBlock = to;
    }
    this.block = this.blocks[this.blockPos++];
  }

  private async settle(): Promise<void> {
    while (this.block !== undefined && this.idx >= this.block.count) await this.fill();
    if (this.block === undefined) {
      this.valid = false;
      return;
    }
    this.valid = true;
    this.load();
  }
}

async function readExactly(handle: FileHandle, position: number, length: number, file: string): Promise<Uint8Array> {
  const data = await handle.read(position, length);
  if (data.length !== length) throw new CorruptTableError(file, position, `short read: wanted ${length} bytes, got ${data.length}`);
  return data;
}
