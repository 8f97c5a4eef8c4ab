import { posix } from 'node:path';
import { isRingkvError, RingkvError } from '../../core/errors.js';
import { CommitLog, type SyncMode, type SyncScheduler } from '../commitlog/commit-log.js';
import type { Engine, EngineEntry, EngineStats } from '../engine.js';
import type { FS } from '../fs/fs.js';
import { BlockCache } from './block-cache.js';
import { bloomHash1, bloomHash2 } from './bloom-filter.js';
import { pickSizeTieredRun } from './compaction.js';
import { FencedFS } from './fenced-fs.js';
import { encodeInternalKey, internalKeyPartition, internalKeyUserKey, partitionPrefix } from './internal-key.js';
import { isManifestTemp, readManifest, writeManifest } from './manifest.js';
import { Memtable } from './memtable.js';
import { MemtableSource, MergeCursor, type EntrySource } from './merge-cursor.js';
import { RateLimiter } from './rate-limiter.js';
import { CorruptTableError, KIND_TOMBSTONE, type Block, type BlockCompression } from './sstable-format.js';
import { SstableReader, TableCursor } from './sstable-reader.js';
import { SstableWriter } from './sstable-writer.js';
import { decodeBatch, MAX_BATCH_BYTES, WriteBatch } from './write-batch.js';

/** The subset of a pino logger the engine uses. */
export interface LsmLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface LsmEngineOptions {
  /** directory of the engine's files (tables, MANIFEST, commitlog/) */
  dir: string;
  /** 'batch': a write resolves after the fsync covering it (group commit); 'periodic': after the write */
  syncMode: SyncMode;
  /** periodic mode: fsync interval @default 10 */
  periodicSyncMs?: number;
  /** periodic mode: what drives the fsync timer (the simulator passes its virtual clock) @default the commit log's */
  syncScheduler?: SyncScheduler;
  /** a memtable this large is frozen and flushed @default 64 MiB */
  memtableSizeBytes?: number;
  /** @default 64 MiB */
  blockCacheBytes?: number;
  /** uncompressed target size of a data block @default 4096 */
  blockSizeBytes?: number;
  /** @default 'none' (measured: 100-byte values gain nothing worth the CPU; see bench/storage.ts) */
  compression?: BlockCompression;
  /** compaction write rate limit @default 64 MiB/s (Cassandra's compaction_throughput) */
  compactionRateBytesPerSec?: number;
  /** tables merged by size-tiered compaction at once, at least @default 4 */
  compactionMinTables?: number;
  /** tombstones are dropped by compaction only once older than this @default 10 days */
  tombstoneGraceMs?: number;
  /** start despite corrupt commit-log records (their writes are lost) @default false */
  skipCorrupt?: boolean;
  /** commit-log segment size @default the commit log's */
  segmentSizeBytes?: number;
  /** wall clock for tombstone timestamps and grace @default Date.now */
  nowMs?: () => number;
  /**
   * Load blocks for gets with a synchronous pread when the FS's read handles offer one (PreadNodeFS):
   * much faster while the page cache holds the tables; blocks the event loop on a real disk read.
   * @default true
   */
  syncBlockReads?: boolean;
  /** run size-tiered compaction automatically after flushes @default true */
  autoCompact?: boolean;
  logger?: LsmLogger;
}

const DEFAULT_MEMTABLE_BYTES = 64 * 1024 * 1024;
const DEFAULT_BLOCK_CACHE_BYTES = 64 * 1024 * 1024;
const DEFAULT_COMPACTION_RATE = 64 * 1024 * 1024;
const DEFAULT_TOMBSTONE_GRACE_MS = 10 * 24 * 3600 * 1000;
/** lookupInBlock's answer when the key is not in the block */
const NOT_IN_BLOCK = Symbol('not in block');
const FLUSH_RETRY_MIN_MS = 50;
const FLUSH_RETRY_MAX_MS = 5000;
const TABLE_SUFFIX = '.sst';
const COMMITLOG_DIR = 'commitlog';

const silentLogger: LsmLogger = { info() {}, warn() {}, error() {} };

class EngineClosedError extends Error {
  constructor() {
    super('engine is closed');
  }
}

/**
 * ringkv's log-structured storage engine (the Bigtable/Cassandra design): a write is appended to the
 * commit log and applied to the memtable; a full memtable is frozen, flushed in the background to an
 * immutable SSTable, and its commit-log segments released once the table is durable; size-tiered
 * compaction merges tables. A read checks the memtables, then each table newest first, skipping
 * tables whose bloom filter rules the key out.
 *
 * Values are opaque and the engine is last-write-wins per key: the replica does read-merge-write of
 * sibling sets itself under a per-key lock, so the engine never needs to merge versions.
 *
 * Faults: a checksum failure in a table moves the file aside (`<name>.corrupt`), drops it from the
 * manifest and counts it in stats().corruptTables — reads go on with the other tables and
 * anti-entropy restores the lost replicas. A failed commit-log write rejects that put with
 * STORAGE_FULL / STORAGE_IO; a failed flush keeps the memtable and retries.
 */
export class LsmEngine implements Engine {
  private active: Memtable;
  private frozen: Memtable | undefined;
  /** newest first; replaced, never mutated, so a reader may hold on to an old array */
  private tables: SstableReader[] = [];
  private seq = 0;
  private nextFileNumber = 1;
  private flushedSegmentId = -1;
  private log!: CommitLog;
  /** set while the commit log rotates: writes wait so that each lands in its memtable's segment */
  private rotation: Promise<void> | undefined;
  private rotateRetryAt = 0;
  /** writes of the current tick, not yet handed to the commit log */
  private batch: WriteBatch | undefined;
  private lastBatchBytes = 4096;
  private flushTask: Promise<void> | undefined;
  private compactionTask: Promise<void> | undefined;
  private manifestChain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly cache: BlockCache;
  private readonly memtableSizeBytes: number;
  private readonly tombstoneGraceMs: number;
  private readonly nowMs: () => number;
  private readonly logger: LsmLogger;
  private readonly counters = {
    bloomSkips: 0,
    bloomFalsePositives: 0,
    corruptTables: 0,
    flushes: 0,
    flushFailures: 0,
    compactions: 0,
    compactedBytes: 0,
    tombstonesDropped: 0,
    writeErrors: 0,
  };

  private constructor(private readonly fs: FencedFS, private readonly opts: LsmEngineOptions) {
    this.cache = new BlockCache(opts.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES);
    this.memtableSizeBytes = opts.memtableSizeBytes ?? DEFAULT_MEMTABLE_BYTES;
    this.active = new Memtable(this.memtableSizeBytes);
    this.tombstoneGraceMs = opts.tombstoneGraceMs ?? DEFAULT_TOMBSTONE_GRACE_MS;
    this.nowMs = opts.nowMs ?? Date.now;
    this.logger = opts.logger ?? silentLogger;
  }

  static async open(fs: FS, opts: LsmEngineOptions): Promise<LsmEngine> {
    const engine = new LsmEngine(new FencedFS(fs), opts);
    await engine.start();
    return engine;
  }

  private path(name: string): string {
    return posix.join(this.opts.dir, name);
  }

  private async start(): Promise<void> {
    const { fs } = this;
    await fs.mkdirp(this.opts.dir);
    const manifest = await readManifest(fs, this.opts.dir);
    const live = new Set(manifest?.tables ?? []);
    this.nextFileNumber = manifest?.nextFileNumber ?? 1;
    this.flushedSegmentId = manifest?.flushedSegmentId ?? -1;

    // orphans: tables of a flush or compaction that never reached the manifest
    let removed = false;
    for (const name of await fs.list(this.opts.dir)) {
      if ((name.endsWith(TABLE_SUFFIX) && !live.has(name)) || isManifestTemp(name)) {
        await fs.unlink(this.path(name));
        removed = true;
        this.logger.info({ file: name }, 'removed orphan file');
      }
    }
    if (removed) await fs.syncDir(this.opts.dir);

    const opened: SstableReader[] = [];
    let lost = false;
    for (const name of manifest?.tables ?? []) {
      try {
        opened.push(this.prepared(await SstableReader.open(fs, this.path(name), name, this.cache)));
      } catch (err) {
        if (!(err instanceof CorruptTableError) && (err as { code?: string }).code !== 'ENOENT') throw err;
        lost = true;
        this.counters.corruptTables++;
        this.logger.error({ file: name, offset: err instanceof CorruptTableError ? err.offset : undefined, err: String(err) }, 'sstable unreadable at open; moved aside');
        if (await fs.exists(this.path(name))) await fs.rename(this.path(name), this.path(`${name}.corrupt`));
      }
    }
    this.tables = opened;
    if (lost) await this.writeManifestNow(this.tables, this.flushedSegmentId);

    this.log = await CommitLog.open(
      fs,
      {
        dir: this.path(COMMITLOG_DIR),
        syncMode: this.opts.syncMode,
        periodicSyncMs: this.opts.periodicSyncMs,
        syncScheduler: this.opts.syncScheduler,
        segmentSizeBytes: this.opts.segmentSizeBytes,
        skipCorrupt: this.opts.skipCorrupt,
        logger: this.opts.logger,
      },
      (record, segmentId) => this.replay(record, segmentId),
    );
    this.maybeFlush();
    this.maybeCompact();
  }

  private replay(record: Uint8Array, segmentId: number): void {
    // segments up to flushedSegmentId are already in tables (a crash came before their release)
    if (segmentId <= this.flushedSegmentId) return;
    decodeBatch(record, (partition, key, value, tsMs) => {
      const ik = encodeInternalKey(partition, key);
      // copied: the commit log may reuse its read buffer
      this.active.apply(ik, value === null ? null : Uint8Array.prototype.slice.call(value), tsMs, ++this.seq);
    });
    this.active.logBytes += record.length;
  }

  // ---- Engine ----

  async get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.assertOpen();
    const ik = encodeInternalKey(partition, key);
    const h1 = bloomHash1(ik);
    const h2 = bloomHash2(ik);
    let entry = this.active.get(ik, h1, h2);
    if (entry === undefined && this.frozen !== undefined) entry = this.frozen.get(ik, h1, h2);
    if (entry !== undefined) return entry.value === null ? undefined : Buffer.from(entry.value);
    const tables = this.tables;
    if (tables.length === 0) return undefined;
    for (let t = 0; t < tables.length; t++) {
      const table = tables[t];
      const b = this.candidateBlock(table, ik, h1, h2);
      if (b < 0) continue;
      let block = table.cachedBlock(b);
      if (block === undefined) {
        try {
          block = table.loadBlockSync(b);
        } catch (err) {
          if (!(err instanceof CorruptTableError)) throw toStorageError(err, 'read');
          this.quarantine(table, err);
          continue;
        }
        if (block === undefined) return this.getFromDisk(ik, h1, h2, tables, t);
      }
      const found = this.lookupInBlock(block, ik);
      if (found !== NOT_IN_BLOCK) return found;
    }
    return undefined;
  }

  /** The block of `table` that may hold ik, or -1: the bloom filter rules it out (counted) or no block can. */
  private candidateBlock(table: SstableReader, ik: string, h1: number, h2: number): number {
    if (!table.mayContain(ik, h1, h2)) {
      this.counters.bloomSkips++;
      return -1;
    }
    return table.blockFor(ik);
  }

  /** ik's value in block, undefined for its tombstone, or NOT_IN_BLOCK (a bloom false positive, counted). */
  private lookupInBlock(block: Block, ik: string): Uint8Array | undefined | typeof NOT_IN_BLOCK {
    const i = block.find(ik);
    if (i < 0) {
      this.counters.bloomFalsePositives++;
      return NOT_IN_BLOCK;
    }
    return block.kind === KIND_TOMBSTONE ? undefined : block.copyParsedValue();
  }

  /** The rest of a get once a block must come from disk: tables still to search stay pinned. */
  private async getFromDisk(ik: string, h1: number, h2: number, tables: SstableReader[], from: number): Promise<Uint8Array | undefined> {
    // compaction may retire these tables while we wait for the disk; the pins keep their files open
    for (let i = from; i < tables.length; i++) tables[i].ref();
    try {
      for (let t = from; t < tables.length; t++) {
        const table = tables[t];
        // the first table's bloom filter was asked already, by get()
        const b = t > from ? this.candidateBlock(table, ik, h1, h2) : table.blockFor(ik);
        if (b < 0) continue;
        let block = t > from ? table.cachedBlock(b) : undefined;
        if (block === undefined) {
          try {
            block = await table.loadBlock(b);
          } catch (err) {
            if (err instanceof CorruptTableError) {
              this.quarantine(table, err);
              continue;
            }
            throw toStorageError(err, 'read');
          }
        }
        const found = this.lookupInBlock(block, ik);
        if (found !== NOT_IN_BLOCK) return found;
      }
      return undefined;
    } finally {
      for (let i = from; i < tables.length; i++) tables[i].unref();
    }
  }

  put(partition: number, key: Uint8Array, value: Uint8Array): Promise<void> {
    try {
      this.assertOpen();
      const ik = encodeInternalKey(partition, key);
      if (this.rotation !== undefined) return this.afterRotation().then(() => this.put(partition, key, value));
      this.currentBatch().addPut(ik, partition, key, value, ++this.seq);
      return this.batch!.done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  delete(partition: number, key: Uint8Array): Promise<void> {
    try {
      this.assertOpen();
      const ik = encodeInternalKey(partition, key);
      if (this.rotation !== undefined) return this.afterRotation().then(() => this.delete(partition, key));
      this.currentBatch().addDelete(ik, partition, key, this.nowMs(), ++this.seq);
      return this.batch!.done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async afterRotation(): Promise<void> {
    while (this.rotation !== undefined) await this.rotation;
  }

  /** The batch this tick's writes join; it is sent to the commit log once the tick's work is done. */
  private currentBatch(): WriteBatch {
    let b = this.batch;
    if (b !== undefined && b.used < MAX_BATCH_BYTES) return b;
    if (b !== undefined) this.sendBatch(b);
    b = new WriteBatch(this.lastBatchBytes);
    this.batch = b;
    queueMicrotask(() => this.sendBatch(b));
    return b;
  }

  /**
   * Appends a batch to the commit log (synchronously, so it lands before any later rotate) and, once
   * durable per the sync mode, applies it to the memtable that was active when it was built. A write
   * is visible only after that, so a failed write is never seen; `seq` keeps the newest write
   * winning whatever order batches complete in.
   */
  private sendBatch(b: WriteBatch): void {
    if (b.sent) return;
    b.sent = true;
    if (this.batch === b) this.batch = undefined;
    this.lastBatchBytes = Math.min(b.used + 1024, MAX_BATCH_BYTES);
    const mt = this.active;
    mt.beginWrite();
    this.log.append(b.record).then(
      () => {
        const buf = b.buf;
        for (let i = 0; i < b.count; i++) {
          const start = b.valueStarts[i];
          mt.apply(b.keys[i], start < 0 ? null : buf.subarray(start, start + b.valueLengths[i]), b.tsMs[i], b.seqs[i]);
        }
        mt.logBytes += b.used;
        mt.endWrite();
        b.resolve();
        if (mt === this.active && mt.sizeBytes >= this.memtableSizeBytes) this.maybeFlush();
      },
      (err: unknown) => {
        mt.endWrite();
        this.counters.writeErrors += b.count;
        b.reject(toStorageError(err, 'write'));
      },
    );
  }

  async *scan(fromPartition: number, toPartition: number): AsyncIterable<EngineEntry> {
    this.assertOpen();
    if (!(toPartition > fromPartition)) return;
    const fromKey = partitionPrefix(fromPartition);
    const stopKey = toPartition > 0xffffffff ? undefined : partitionPrefix(toPartition);
    // the snapshot: memtables by copy-on-write, tables by reference count — all taken before any await
    const memSources: EntrySource[] = [new MemtableSource(this.active.snapshot().cursor(fromKey))];
    if (this.frozen !== undefined) memSources.push(new MemtableSource(this.frozen.snapshot().cursor(fromKey)));
    const tables = this.tables;
    for (const t of tables) t.ref();
    try {
      const sources = [...memSources];
      const sourceTables: (SstableReader | undefined)[] = memSources.map(() => undefined);
      for (const t of tables) {
        try {
          sources.push(await TableCursor.open(t, fromKey));
          sourceTables.push(t);
        } catch (err) {
          if (!(err instanceof CorruptTableError)) throw toStorageError(err, 'read');
          this.quarantine(t, err);
        }
      }
      const merge = MergeCursor.create(sources, (index, err) => {
        const table = sourceTables[index];
        if (table !== undefined && err instanceof CorruptTableError) this.quarantine(table, err);
        else throw toStorageError(err, 'read');
      });
      while (merge.valid) {
        const key = merge.key;
        if (stopKey !== undefined && key >= stopKey) break;
        const top = merge.top;
        if (!top.isTombstone) {
          yield { partition: internalKeyPartition(key), key: internalKeyUserKey(key), value: Buffer.from(top.valueView()) };
        }
        await merge.next();
      }
    } finally {
      for (const t of tables) t.unref();
    }
  }

  dataLossCount(): number {
    return this.counters.corruptTables + (this.log?.recovery.corruptRegionsSkipped ?? 0);
  }

  stats(): EngineStats {
    let tableKeys = 0;
    let tableBytes = 0;
    let bloomBytes = 0;
    for (const t of this.tables) {
      tableKeys += t.meta.entryCount - t.meta.tombstoneCount;
      tableBytes += t.sizeBytes;
      bloomBytes += t.bloomSizeBytes;
    }
    const memKeys = this.active.count + (this.frozen?.count ?? 0);
    const logBytes = this.active.logBytes + (this.frozen?.logBytes ?? 0);
    return {
      keys: memKeys + tableKeys,
      bytesOnDisk: tableBytes + logBytes,
      sstables: this.tables.length,
      sstableBytes: tableBytes,
      commitLogBytes: logBytes,
      memtableBytes: this.active.sizeBytes + (this.frozen?.sizeBytes ?? 0),
      memtableKeys: memKeys,
      bloomFilterBytes: bloomBytes,
      blockCacheBytes: this.cache.sizeBytes,
      blockCacheHits: this.cache.hits,
      blockCacheMisses: this.cache.misses,
      ...this.counters,
    };
  }

  /** Freezes the memtable (if it holds anything) and waits until it is durable in an SSTable. */
  async flush(): Promise<void> {
    this.assertOpen();
    while (this.rotation !== undefined || this.flushTask !== undefined) {
      await this.rotation;
      await this.flushTask;
    }
    const target = this.active;
    if (target.count === 0) return;
    this.maybeFlush(true);
    await this.rotation;
    await this.flushTask;
    if (this.active === target || this.frozen === target) {
      throw new RingkvError('STORAGE_IO', 'flush did not complete (see the log)');
    }
  }

  /** Merges every table into one (a major compaction; drops tombstones past their grace). */
  async compact(): Promise<void> {
    this.assertOpen();
    while (this.compactionTask !== undefined) await this.compactionTask;
    const run = this.tables.slice();
    if (run.length < 2 && !(run.length === 1 && run[0].meta.tombstoneCount > 0)) return;
    this.compactionTask = this.runCompaction(run).finally(() => {
      this.compactionTask = undefined;
    });
    await this.compactionTask;
  }

  /** Waits for background flushes and compactions in progress. */
  async idle(): Promise<void> {
    while (this.rotation !== undefined || this.flushTask !== undefined || this.compactionTask !== undefined) {
      await this.rotation;
      await this.flushTask;
      await this.compactionTask;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.rotation;
    await this.flushTask?.catch(() => undefined);
    await this.compactionTask?.catch(() => undefined);
    await this.manifestChain.catch(() => undefined);
    try {
      await this.log.close();
    } finally {
      for (const t of this.tables) t.unref();
      this.tables = [];
    }
  }

  /**
   * Stops the engine dead, as a crash would: no flush, no close, and every later file operation of
   * this engine fails. For crash simulations, before the disk is crashed and the engine reopened.
   */
  halt(): void {
    this.closed = true;
    this.fs.fence();
  }

  // ---- flush ----

  private maybeFlush(force = false): void {
    if (this.closed || this.rotation !== undefined || this.frozen !== undefined || this.active.count === 0) return;
    if (!force && (this.active.sizeBytes < this.memtableSizeBytes || performance.now() < this.rotateRetryAt)) return;
    // New writes wait while the commit log rotates, and the memtables are swapped only once it has:
    // every append issued before is in the closed segment (with the frozen memtable), every later one
    // in the next segment (with the new memtable). Releasing the closed segment after the flush is
    // then safe. The batch being built belongs to the old memtable: send it first.
    if (this.batch !== undefined) this.sendBatch(this.batch);
    this.rotation = this.log
      .rotate()
      .then(
        (segmentId) => {
          const mt = this.active;
          mt.segmentId = segmentId;
          this.frozen = mt;
          this.active = new Memtable(this.memtableSizeBytes);
          this.flushTask = this.flushFrozen(mt).finally(() => {
            this.flushTask = undefined;
            if (!this.closed) {
              this.maybeFlush();
              this.maybeCompact();
            }
          });
        },
        (err) => {
          this.counters.flushFailures++;
          this.rotateRetryAt = performance.now() + FLUSH_RETRY_MIN_MS;
          this.logger.error({ err: String(err) }, 'commit-log rotation failed; flush postponed');
        },
      )
      .finally(() => {
        this.rotation = undefined;
      });
  }

  private async flushFrozen(mt: Memtable): Promise<void> {
    await mt.drained();
    let delayMs = FLUSH_RETRY_MIN_MS;
    for (;;) {
      if (this.closed) return;
      try {
        await this.flushOnce(mt);
        return;
      } catch (err) {
        this.counters.flushFailures++;
        this.logger.error({ err: String(err), retryInMs: delayMs }, 'memtable flush failed; will retry');
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, FLUSH_RETRY_MAX_MS);
      }
    }
  }

  private async flushOnce(mt: Memtable): Promise<void> {
    let reader: SstableReader | undefined;
    if (mt.count > 0) {
      reader = await this.writeTable(async (writer) => {
        const c = mt.cursor();
        while (c.valid) {
          const e = c.value!;
          const p = e.value === null ? writer.addTombstone(c.key, e.tsMs, e.h1, e.h2) : writer.addPut(c.key, e.value, e.h1, e.h2);
          if (p !== undefined) await p;
          c.next();
        }
      });
    }
    const applied = await this.commitTables(
      (current) => (reader === undefined ? current : [reader, ...current]),
      mt.segmentId,
      () => {
        this.frozen = undefined;
      },
    );
    if (!applied) throw new Error('manifest update refused');
    this.counters.flushes++;
    try {
      await this.log.releaseUpTo(mt.segmentId);
    } catch (err) {
      // harmless: the segments are skipped at replay (manifest flushedSegmentId) and released later
      this.logger.warn({ err: String(err), segmentId: mt.segmentId }, 'commit-log release failed');
    }
  }

  /** Writes a new table through `fill`, then opens it; on failure the partial file is removed. */
  private async writeTable(fill: (w: SstableWriter) => Promise<void>, rateLimiter?: RateLimiter): Promise<SstableReader | undefined> {
    const name = `${String(this.nextFileNumber++).padStart(6, '0')}${TABLE_SUFFIX}`;
    const path = this.path(name);
    const writer = await SstableWriter.create(this.fs, path, {
      blockSizeBytes: this.opts.blockSizeBytes,
      compression: this.opts.compression,
      rateLimiter,
      createdAtMs: this.nowMs(),
    });
    try {
      await fill(writer);
      if (writer.entryCount === 0) {
        await writer.abort();
        await this.fs.unlink(path).catch(() => undefined);
        return undefined;
      }
      await writer.finish();
      return this.prepared(await SstableReader.open(this.fs, path, name, this.cache));
    } catch (err) {
      await writer.abort();
      await this.fs.unlink(path).catch(() => undefined);
      throw err;
    }
  }

  // ---- manifest ----

  /**
   * Serialised table-list change: `build` derives the new list from the current one (undefined =
   * give up), the manifest is made durable, then the list is swapped in memory (with `apply`).
   */
  private commitTables(
    build: (current: SstableReader[]) => SstableReader[] | undefined,
    flushedSegmentId: number,
    apply?: () => void,
  ): Promise<boolean> {
    const step = this.manifestChain.catch(() => undefined).then(async () => {
      const next = build(this.tables);
      if (next === undefined) return false;
      await this.writeManifestNow(next, flushedSegmentId);
      this.tables = next;
      this.flushedSegmentId = flushedSegmentId;
      apply?.();
      return true;
    });
    this.manifestChain = step;
    return step;
  }

  private async writeManifestNow(tables: SstableReader[], flushedSegmentId: number): Promise<void> {
    await writeManifest(this.fs, this.opts.dir, {
      nextFileNumber: this.nextFileNumber,
      flushedSegmentId,
      tables: tables.map((t) => t.fileName),
    });
  }

  /** A table failed its checksums: move it aside, keep serving the rest (anti-entropy repairs). */
  private quarantine(table: SstableReader, err: CorruptTableError): void {
    if (!this.tables.includes(table) || table.quarantined) return;
    table.quarantined = true;
    this.counters.corruptTables++;
    this.logger.error({ file: err.file, offset: err.offset, err: err.message }, 'corrupt sstable: moving it aside');
    void this.commitTables(
      (current) => (current.includes(table) ? current.filter((t) => t !== table) : undefined),
      this.flushedSegmentId,
      () => {
        table.unref();
      },
    )
      .then(async (applied) => {
        if (applied) {
          await this.fs.rename(this.path(table.fileName), this.path(`${table.fileName}.corrupt`));
          await this.fs.syncDir(this.opts.dir);
        }
      })
      .catch((e) => this.logger.error({ file: table.fileName, err: String(e) }, 'could not move corrupt sstable aside'));
  }

  // ---- compaction ----

  private maybeCompact(): void {
    if (this.closed || this.compactionTask !== undefined || this.opts.autoCompact === false) return;
    const sizes = this.tables.map((t) => t.sizeBytes);
    const run = pickSizeTieredRun(sizes, {
      minTables: this.opts.compactionMinTables ?? 4,
      maxTables: 32,
      smallTableBytes: Math.min(this.memtableSizeBytes, 8 * 1024 * 1024),
    });
    if (run === undefined) return;
    this.compactionTask = this.runCompaction(this.tables.slice(run.start, run.end))
      .catch((err) => {
        this.logger.error({ err: String(err) }, 'compaction failed');
      })
      .finally(() => {
        this.compactionTask = undefined;
        this.maybeCompact();
      });
  }

  private async runCompaction(inputs: SstableReader[]): Promise<void> {
    for (const t of inputs) t.ref();
    try {
      const oldest = inputs[inputs.length - 1];
      const includesOldest = this.tables[this.tables.length - 1] === oldest;
      const nowMs = this.nowMs();
      const limiter = new RateLimiter(this.opts.compactionRateBytesPerSec ?? DEFAULT_COMPACTION_RATE);
      let dropped = 0;
      let failedTable: SstableReader | undefined;
      let failure: CorruptTableError | undefined;
      let output: SstableReader | undefined;
      try {
        output = await this.writeTable(async (writer) => {
          const cursors: TableCursor[] = [];
          for (const t of inputs) {
            failedTable = t;
            cursors.push(await TableCursor.open(t, undefined));
          }
          failedTable = undefined;
          const merge = MergeCursor.create(cursors, (index, err) => {
            failedTable = inputs[index];
            throw err;
          });
          while (merge.valid) {
            if (this.closed) throw new EngineClosedError();
            const top = merge.top;
            let p: Promise<void> | undefined;
            if (top.isTombstone) {
              const ts = top.tombstoneTsMs;
              // only safe with no older table outside this merge that could hold the key
              if (includesOldest && nowMs - ts >= this.tombstoneGraceMs) dropped++;
              else p = writer.addTombstone(merge.key, ts);
            } else p = writer.addPut(merge.key, top.valueView());
            if (p !== undefined) await p;
            await merge.next();
          }
        }, limiter);
      } catch (err) {
        if (err instanceof CorruptTableError && failedTable !== undefined) failure = err;
        else throw err;
      }
      if (failure !== undefined) {
        this.quarantine(failedTable!, failure);
        return;
      }
      const applied = await this.commitTables((current) => {
        const start = current.indexOf(inputs[0]);
        if (start < 0) return undefined;
        for (let i = 0; i < inputs.length; i++) if (current[start + i] !== inputs[i]) return undefined;
        if (includesOldest && start + inputs.length !== current.length) return undefined;
        const next = current.slice(0, start);
        if (output !== undefined) next.push(output);
        next.push(...current.slice(start + inputs.length));
        return next;
      }, this.flushedSegmentId);
      if (!applied) {
        if (output !== undefined) {
          output.onReleased = (t) => void this.fs.unlink(this.path(t.fileName)).catch(() => undefined);
          output.unref();
        }
        return;
      }
      this.counters.compactions++;
      this.counters.tombstonesDropped += dropped;
      this.counters.compactedBytes += inputs.reduce((s, t) => s + t.sizeBytes, 0);
      for (const t of inputs) {
        t.onReleased = (r) => {
          void this.fs.unlink(this.path(r.fileName)).catch((err) => this.logger.warn({ file: r.fileName, err: String(err) }, 'could not delete compacted sstable'));
        };
        t.unref(); // the table list's reference
      }
    } finally {
      for (const t of inputs) t.unref();
    }
  }

  private prepared(reader: SstableReader): SstableReader {
    if (this.opts.syncBlockReads !== false) reader.enableSyncReads();
    return reader;
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineClosedError();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Maps a file-system failure to the error a client sees. */
export function toStorageError(err: unknown, what: 'read' | 'write'): Error {
  if (isRingkvError(err) || err instanceof EngineClosedError) return err as Error;
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOSPC') return new RingkvError('STORAGE_FULL', `storage full: ${what} failed (${message})`);
  return new RingkvError('STORAGE_IO', `storage ${what} failed: ${message}`);
}
