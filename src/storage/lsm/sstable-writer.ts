import type { FileHandle, FS } from '../fs/fs.js';
import { crc32c } from '../crc32c.js';
import { bloomHash1, bloomHash2, buildBloom } from './bloom-filter.js';
import type { RateLimiter } from './rate-limiter.js';
import { encodeFooter, KIND_PUT, KIND_TOMBSTONE, sealBlock, SSTABLE_FORMAT_VERSION, type BlockCompression, type TableMeta } from './sstable-format.js';
import { varintSize, writeVarint } from './varint.js';

export interface SstableWriterOptions {
  /** target uncompressed size of a data block @default 4096 */
  blockSizeBytes?: number;
  /** @default 'none' */
  compression?: BlockCompression;
  /** bytes handed to the file per append @default 1 MiB */
  chunkBytes?: number;
  rateLimiter?: RateLimiter;
  createdAtMs: number;
}

export interface WrittenTable {
  path: string;
  sizeBytes: number;
  meta: TableMeta;
}

/**
 * Streams sorted entries into a new SSTable file. Keys must arrive strictly increasing. The file is
 * only complete after `finish()`, which writes index, bloom filter, meta and footer and fsyncs; a
 * crash before that leaves an orphan the manifest never names (removed at the next open).
 */
export class SstableWriter {
  private readonly blockSizeBytes: number;
  private readonly compression: BlockCompression;
  private readonly chunkBytes: number;
  private block = Buffer.allocUnsafe(8192);
  private blockUsed = 0;
  private blockFirstKey = '';
  private blockEntryOffsets: number[] = [];
  private chunks: Buffer[] = [];
  private chunkedBytes = 0;
  private fileOffset = 0;
  private readonly indexKeys: string[] = [];
  private readonly indexOffsets: number[] = [];
  private readonly indexLengths: number[] = [];
  private h1s = new Uint32Array(1024);
  private h2s = new Uint32Array(1024);
  private count = 0;
  private tombstones = 0;
  private minKey = '';
  private lastKey = '';

  private constructor(private readonly handle: FileHandle, private readonly options: SstableWriterOptions) {
    this.blockSizeBytes = options.blockSizeBytes ?? 4096;
    this.compression = options.compression ?? 'none';
    this.chunkBytes = options.chunkBytes ?? 1 << 20;
  }

  static async create(fs: FS, path: string, options: SstableWriterOptions): Promise<SstableWriter> {
    return new SstableWriter(await fs.openAppend(path), options);
  }

  get path(): string {
    return this.handle.path;
  }

  get entryCount(): number {
    return this.count;
  }

  /** Adds a put. Returns a promise only when a chunk went to the file (await it then). */
  addPut(key: string, value: Uint8Array): Promise<void> | undefined {
    this.addEntry(key, KIND_PUT, value.length);
    this.block.set(value, this.blockUsed);
    this.blockUsed += value.length;
    return this.afterEntry();
  }

  addTombstone(key: string, tsMs: number): Promise<void> | undefined {
    this.addEntry(key, KIND_TOMBSTONE, 8);
    this.block.writeDoubleLE(tsMs, this.blockUsed);
    this.blockUsed += 8;
    this.tombstones++;
    return this.afterEntry();
  }

  private addEntry(key: string, kind: number, valueLength: number): void {
    if (this.count > 0 && !(key > this.lastKey)) throw new Error('sstable keys must be strictly increasing');
    const need = varintSize(key.length) + 1 + varintSize(valueLength) + key.length + valueLength;
    if (this.blockUsed + need > this.block.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.block.length * 2, this.blockUsed + need));
      this.block.copy(bigger, 0, 0, this.blockUsed);
      this.block = bigger;
    }
    if (this.blockUsed === 0) this.blockFirstKey = key;
    if (this.count === 0) this.minKey = key;
    this.blockEntryOffsets.push(this.blockUsed);
    let p = writeVarint(this.block, this.blockUsed, key.length);
    this.block[p++] = kind;
    p = writeVarint(this.block, p, valueLength);
    p += this.block.latin1Write(key, p, key.length);
    this.blockUsed = p;
    if (this.count === this.h1s.length) {
      const h1 = new Uint32Array(this.count * 2);
      h1.set(this.h1s);
      this.h1s = h1;
      const h2 = new Uint32Array(this.count * 2);
      h2.set(this.h2s);
      this.h2s = h2;
    }
    this.h1s[this.count] = bloomHash1(key);
    this.h2s[this.count] = bloomHash2(key);
    this.count++;
    this.lastKey = key;
  }

  private afterEntry(): Promise<void> | undefined {
    if (this.blockUsed + 4 * this.blockEntryOffsets.length < this.blockSizeBytes) return undefined;
    this.sealCurrentBlock();
    if (this.chunkedBytes >= this.chunkBytes) return this.writeChunks();
    return undefined;
  }

  private sealCurrentBlock(): void {
    if (this.blockUsed === 0) return;
    const offsets = this.blockEntryOffsets;
    const tail = 4 * offsets.length + 4;
    if (this.blockUsed + tail > this.block.length) {
      const bigger = Buffer.allocUnsafe(this.blockUsed + tail);
      this.block.copy(bigger, 0, 0, this.blockUsed);
      this.block = bigger;
    }
    let p = this.blockUsed;
    for (let i = 0; i < offsets.length; i++, p += 4) this.block.writeUInt32LE(offsets[i], p);
    this.block.writeUInt32LE(offsets.length, p);
    this.blockUsed = p + 4;
    this.blockEntryOffsets = [];
    const stored = sealBlock(this.block.subarray(0, this.blockUsed), this.compression);
    this.indexKeys.push(this.blockFirstKey);
    this.indexOffsets.push(this.fileOffset + this.chunkedBytes);
    this.indexLengths.push(stored.length);
    this.chunks.push(stored);
    this.chunkedBytes += stored.length;
    this.blockUsed = 0;
  }

  private async writeChunks(): Promise<void> {
    if (this.chunkedBytes === 0) return;
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.chunkedBytes);
    this.chunks = [];
    this.fileOffset += this.chunkedBytes;
    this.chunkedBytes = 0;
    await this.handle.append(data);
    if (this.options.rateLimiter) await this.options.rateLimiter.consume(data.length);
  }

  /** Writes the tail, fsyncs and closes. The table holds at least one entry. */
  async finish(): Promise<WrittenTable> {
    if (this.count === 0) throw new Error('an sstable needs at least one entry');
    this.sealCurrentBlock();
    const indexOffset = this.fileOffset + this.chunkedBytes;
    const index = this.encodeIndex();
    const bloom = buildBloom(this.h1s, this.h2s, this.count);
    const meta: TableMeta = {
      formatVersion: SSTABLE_FORMAT_VERSION,
      entryCount: this.count,
      tombstoneCount: this.tombstones,
      blockCount: this.indexKeys.length,
      minKey: this.minKey,
      maxKey: this.lastKey,
      createdAtMs: this.options.createdAtMs,
    };
    const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
    const footer = encodeFooter({
      indexOffset,
      indexLength: index.length,
      bloomLength: bloom.length,
      metaLength: metaBytes.length,
      indexCrc: crc32c(index),
      bloomCrc: crc32c(bloom),
      metaCrc: crc32c(metaBytes),
    });
    this.chunks.push(index, Buffer.from(bloom.buffer, bloom.byteOffset, bloom.length), metaBytes, footer);
    this.chunkedBytes += index.length + bloom.length + metaBytes.length + footer.length;
    await this.writeChunks();
    await this.handle.sync();
    await this.handle.close();
    return { path: this.handle.path, sizeBytes: this.fileOffset, meta };
  }

  /** Gives up on the file (the caller unlinks it). */
  async abort(): Promise<void> {
    try {
      await this.handle.close();
    } catch {
      // already failing; the orphan is removed by the caller or at the next open
    }
  }

  private encodeIndex(): Buffer {
    let size = 0;
    for (let i = 0; i < this.indexKeys.length; i++) {
      const k = this.indexKeys[i];
      size += varintSize(k.length) + k.length + 6 + varintSize(this.indexLengths[i]);
    }
    const out = Buffer.allocUnsafe(size);
    let p = 0;
    for (let i = 0; i < this.indexKeys.length; i++) {
      const k = this.indexKeys[i];
      p = writeVarint(out, p, k.length);
      p += out.latin1Write(k, p, k.length);
      out.writeUIntLE(this.indexOffsets[i], p, 6);
      p += 6;
      p = writeVarint(out, p, this.indexLengths[i]);
    }
    return out;
  }
}
