import type { FileHandle, FS } from '../fs/fs.js';
import { crc32c } from '../crc32c.js';
import { bloomHash1, bloomHash2, buildBloom } from './bloom-filter.js';
import type { RateLimiter } from './rate-limiter.js';
import { BLOCK_TRAILER_BYTES, encodeFooter, KIND_PUT, KIND_TOMBSTONE, sealBlockAt, SSTABLE_FORMAT_VERSION, type BlockCompression, type TableMeta } from './sstable-format.js';
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

/** Room kept in the output buffer beyond `chunkBytes`, so a chunk's last block rarely forces a grow. */
const OUTPUT_SLACK_BYTES = 64 * 1024;

/**
 * Streams sorted entries into a new SSTable file. Keys must arrive strictly increasing. The file is
 * only complete after `finish()`, which writes index, bloom filter, meta and footer and fsyncs; a
 * crash before that leaves an orphan the manifest never names (removed at the next open).
 *
 * Blocks are encoded straight into one output buffer of about `chunkBytes`, back to back as they lie
 * in the file, and sealed (entry offsets, trailer, checksum, optional compression) where they lie:
 * each value is copied once, and a block costs no allocation. A full buffer goes to the file whole
 * and a fresh one takes its place (the handle may still hold the old one).
 */
export class SstableWriter {
  private readonly blockSizeBytes: number;
  private readonly compression: BlockCompression;
  private readonly chunkBytes: number;
  private readonly outputBytes: number;
  /** sealed blocks in out[0, outUsed); the current block's entries in out[outUsed, outUsed + blockUsed) */
  private out: Buffer;
  private outUsed = 0;
  private blockUsed = 0;
  private blockFirstKey = '';
  /** offsets (within the block) of the current block's entries */
  private blockEntryOffsets = new Uint32Array(256);
  private blockEntries = 0;
  /** bytes already handed to the file */
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
    this.outputBytes = this.chunkBytes + 2 * this.blockSizeBytes + OUTPUT_SLACK_BYTES;
    this.out = Buffer.allocUnsafe(this.outputBytes);
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

  /**
   * Adds a put. Returns a promise only when a chunk went to the file (await it then, before adding
   * more). `h1`, `h2`: the key's bloomHash1 and bloomHash2, when the caller has them already (as
   * uint32 or int32: only their 32 bits are kept).
   */
  addPut(key: string, value: Uint8Array, h1?: number, h2?: number): Promise<void> | undefined {
    const p = this.addEntry(key, KIND_PUT, value.length, h1, h2);
    this.out.set(value, p);
    this.blockUsed = p + value.length - this.outUsed;
    return this.afterEntry();
  }

  addTombstone(key: string, tsMs: number, h1?: number, h2?: number): Promise<void> | undefined {
    const p = this.addEntry(key, KIND_TOMBSTONE, 8, h1, h2);
    this.out.writeDoubleLE(tsMs, p);
    this.blockUsed = p + 8 - this.outUsed;
    this.tombstones++;
    return this.afterEntry();
  }

  /** Writes the entry's header and key; returns where its value goes (the caller writes it). */
  private addEntry(key: string, kind: number, valueLength: number, h1: number | undefined, h2: number | undefined): number {
    if (this.count > 0 && !(key > this.lastKey)) throw new Error('sstable keys must be strictly increasing');
    const keyLength = key.length;
    const n = this.blockEntries;
    // the entry, and the block's tail once it holds it: offsets, count, trailer
    const need = varintSize(keyLength) + 1 + varintSize(valueLength) + keyLength + valueLength + 4 * (n + 1) + 4 + BLOCK_TRAILER_BYTES;
    if (this.outUsed + this.blockUsed + need > this.out.length) this.grow(need);
    if (n === 0) this.blockFirstKey = key;
    if (this.count === 0) this.minKey = key;
    if (n === this.blockEntryOffsets.length) {
      const bigger = new Uint32Array(n * 2);
      bigger.set(this.blockEntryOffsets);
      this.blockEntryOffsets = bigger;
    }
    this.blockEntryOffsets[n] = this.blockUsed;
    this.blockEntries = n + 1;
    const out = this.out;
    let p = this.outUsed + this.blockUsed;
    if (keyLength < 0x80) out[p++] = keyLength;
    else p = writeVarint(out, p, keyLength);
    out[p++] = kind;
    if (valueLength < 0x80) out[p++] = valueLength;
    else p = writeVarint(out, p, valueLength);
    p += out.latin1Write(key, p, keyLength);
    if (this.count === this.h1s.length) {
      const more1 = new Uint32Array(this.count * 2);
      more1.set(this.h1s);
      this.h1s = more1;
      const more2 = new Uint32Array(this.count * 2);
      more2.set(this.h2s);
      this.h2s = more2;
    }
    this.h1s[this.count] = h1 ?? bloomHash1(key);
    this.h2s[this.count] = h2 ?? bloomHash2(key);
    this.count++;
    this.lastKey = key;
    return p;
  }

  /** Makes room for `need` more bytes after the current block (a value larger than the buffer). */
  private grow(need: number): void {
    const used = this.outUsed + this.blockUsed;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, used + need));
    this.out.copy(bigger, 0, 0, used);
    this.out = bigger;
  }

  private afterEntry(): Promise<void> | undefined {
    if (this.blockUsed + 4 * this.blockEntries < this.blockSizeBytes) return undefined;
    this.sealCurrentBlock();
    if (this.outUsed >= this.chunkBytes) return this.writeOut();
    return undefined;
  }

  /** Appends the entry offsets and count to the current block and seals it where it lies. */
  private sealCurrentBlock(): void {
    if (this.blockUsed === 0) return;
    const out = this.out;
    const offsets = this.blockEntryOffsets;
    const n = this.blockEntries;
    const start = this.outUsed;
    let p = start + this.blockUsed;
    for (let i = 0; i < n; i++, p += 4) out.writeUInt32LE(offsets[i], p);
    out.writeUInt32LE(n, p);
    p += 4;
    const stored = sealBlockAt(out, start, p - start, this.compression);
    this.indexKeys.push(this.blockFirstKey);
    this.indexOffsets.push(this.fileOffset + start);
    this.indexLengths.push(stored);
    this.outUsed = start + stored;
    this.blockUsed = 0;
    this.blockEntries = 0;
  }

  /** Hands the sealed blocks to the file; the next ones go to a fresh buffer. */
  private async writeOut(): Promise<void> {
    if (this.outUsed === 0) return;
    const data = this.out.subarray(0, this.outUsed);
    this.out = Buffer.allocUnsafe(this.outputBytes);
    this.fileOffset += data.length;
    this.outUsed = 0;
    await this.handle.append(data);
    if (this.options.rateLimiter) await this.options.rateLimiter.consume(data.length);
  }

  /** Writes the tail, fsyncs and closes. The table holds at least one entry. */
  async finish(): Promise<WrittenTable> {
    if (this.count === 0) throw new Error('an sstable needs at least one entry');
    this.sealCurrentBlock();
    const indexOffset = this.fileOffset + this.outUsed;
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
    const tailLength = index.length + bloom.length + metaBytes.length + footer.length;
    if (this.outUsed + tailLength > this.out.length) this.grow(tailLength);
    for (const part of [index, bloom, metaBytes, footer]) {
      this.out.set(part, this.outUsed);
      this.outUsed += part.length;
    }
    await this.writeOut();
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
