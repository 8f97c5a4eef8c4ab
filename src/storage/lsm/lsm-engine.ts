import { posix } from 'node:path';
import { isRingkvError, RingkvError } from '../../core/errors.js';
import { CommitLog, DEFAULT_SEGMENT_SIZE_BYTES, type SyncMode, type SyncScheduler } from '../commitlog/commit-log.js';
import type { Engine, EngineEntry, EngineStats } from '../engine.js';
import type { FS } from '../fs/fs.js';
import { BlockCache } from './block-cache.js';
import { bloomHash1, bloomHash2 } from './bloom-filter.js';
import { pickSizeTieredRun } from './compaction.js';
import { FencedFS } from './fenced-fs.js';
import { encodeInternalKey, internalKeyPartition, internalKeyUserKey, partitionPrefix } from './internal-key.js';
import { isManifestTemp, readManifest, writeManifest } from './manifest.js';
import { estimatedBytes, Memtable } from './memtable.js';
import { MemtableSource, MergeCursor, type EntrySource } from './merge-cursor.js';
import { SlabAllocator } from './slab.js';
import { CorruptTableError, KIND_TOMBSTONE, type Block, type BlockCompression } from './sstable-format.js';
import { SstableReader, TableCursor } from './sstable-reader.js';
import { TableBuilder, type JobCorruptTableError, type RunningJob } from './table-builder.js';
import { JobCancelledError, type TableJob, type TableOptions } from './table-jobs.js';
import { forEachOp, MAX_BATCH_BYTES, opFields, WriteBatch } from './write-batch.js';

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
  /**
   * commit-log segment size; at most commitLogMaxTotalBytes
   * @default the commit log's (64 MiB), or a quarter of commitLogMaxTotalBytes when that is smaller
   */
  segmentSizeBytes?: number;
  /**
   * Bound on the commit log's live segments on disk (Cassandra's commitlog_total_space). Segments are
   * deleted only after the memtable whose writes they hold is flushed; a memtable that never fills (a
   * small disk, a large memtable) would let them pile up. Past this bound the active memtable is
   * flushed whatever its size, so its segments can go; while such a flush runs, writes that would take
   * the log past bound + one segment wait for it.
   * @default 256 MiB, and at least twice memtableSizeBytes
   */
  commitLogMaxTotalBytes?: number;
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
  /**
   * Frozen memtables that may wait for their flush at once. When the active memtable is full and this
   * many are still being flushed, writes stall (their acknowledgements wait) until a flush completes:
   * memtable memory stays under (1 + this) × memtableSizeBytes (plus one write batch), however fast
   * writes come. RocksDB's max_write_buffer_number is this plus one. @default 2
   */
  maxImmutableMemtables?: number;
  /**
   * With this many tables or more while a compaction runs, each write batch waits 1 ms (a real-time
   * timer) before it is written (RocksDB's level0_slowdown_writes_trigger): writers are slowed so
   * compaction catches up. Infinity turns the slowdown off. @default 20
   */
  compactionSlowdownTables?: number;
  /** With this many tables or more while a compaction runs, writes stall until it ends. @default 36 */
  compactionStopTables?: number;
  /**
   * Build SSTables (flushes and compactions) in a worker thread; its file operations still go through
   * this engine's FS. false: on the engine's thread. @default true
   */
  tableWorker?: boolean;
  /**
   * How a write batch is sent once the writes of the turn have joined it. The default, setImmediate,
   * sends it after the turn's I/O callbacks, so writers woken by one batch join the next instead of
   * chaining batches in microtasks forever (which starved timers and I/O under a closed loop of
   * writers). A deterministic simulation passes queueMicrotask. @default setImmediate
   */
  deferBatch?: (send: () => void) => void;
  logger?: LsmLogger;
}

const DEFAULT_MEMTABLE_BYTES = 64 * 1024 * 1024;
const DEFAULT_COMMITLOG_MAX_TOTAL_BYTES = 256 * 1024 * 1024;
const DEFAULT_BLOCK_CACHE_BYTES = 64 * 1024 * 1024;
const DEFAULT_COMPACTION_RATE = 64 * 1024 * 1024;
const DEFAULT_TOMBSTONE_GRACE_MS = 10 * 24 * 3600 * 1000;
const DEFAULT_MAX_IMMUTABLE_MEMTABLES = 2;
const DEFAULT_SLOWDOWN_TABLES = 20;
const DEFAULT_STOP_TABLES = 36;
const SLOWDOWN_DELAY_MS = 1;
/** lookupInBlock's answer when the key is not in the block */
const NOT_IN_BLOCK = Symbol('not in block');
const FLUSH_RETRY_MIN_MS = 50;
const FLUSH_RETRY_MAX_MS = 5000;
const TABLE_SUFFIX = '.sst';
const COMMITLOG_DIR = 'commitlog';

const silentLogger: LsmLogger = { info() {}, warn() {}, error() {} };

export class EngineClosedError extends Error {
  constructor() {
    super('engine is closed');
  }
}

/**
 * ringkv's log-structured storage engine (the Bigtable/Cassandra design): a write is appended to the
 * commit log and applied to the memtable; a full memtable is frozen, flushed in the background to an
 * immutable SSTable, and its commit-log segments released once the table is durable; size-tiered
 * compaction merges tables. A read checks the memtables, then each table newest first, skipping
 * tables whose bloom filter rules the key out. Flushes and compactions run in a worker thread
 * (table-builder.ts); when they fall behind, writes stall (see maxImmutableMemtables and
 * compactionStopTables) instead of letting memory grow.
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
  /** frozen memtables waiting for (or in) their flush, oldest first */
  private immutables: Memtable[] = [];
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
  private compactionJob: RunningJob | undefined;
  /**
   * writers (and flush() callers) waiting for a flush, rotation or compaction to make room; told the
   * error, and the attempt's number, when it was a flush attempt that failed
   */
  private progressWaiters: ((failure: unknown, attempt: number) => void)[] = [];
  /** flush attempts started so far (a stalled write fails only with an attempt that began after it stalled) */
  private flushAttempts = 0;
  private stallStartedAt = -1;
  private readonly slabs = new SlabAllocator();
  private readonly builder: TableBuilder;
  private readonly maxImmutable: number;
  private readonly slowdownTables: number;
  private readonly stopTables: number;
  private readonly deferBatch: (send: () => void) => void;
  private manifestChain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly cache: BlockCache;
  private readonly memtableSizeBytes: number;
  private readonly commitLogMaxBytes: number;
  private readonly segmentSizeBytes: number;
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
    /** times a write had to wait for a flush or compaction to make room */
    writeStalls: 0,
    writeStallMs: 0,
    /** write batches delayed because compaction is behind */
    writeSlowdowns: 0,
    /** memtables flushed before they were full, because the commit log passed commitLogMaxTotalBytes */
    commitLogBoundFlushes: 0,
  };

  private constructor(private readonly fs: FencedFS, private readonly opts: LsmEngineOptions) {
    this.cache = new BlockCache(opts.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES);
    this.memtableSizeBytes = opts.memtableSizeBytes ?? DEFAULT_MEMTABLE_BYTES;
    this.commitLogMaxBytes = opts.commitLogMaxTotalBytes ?? Math.max(DEFAULT_COMMITLOG_MAX_TOTAL_BYTES, 2 * this.memtableSizeBytes);
    this.segmentSizeBytes = opts.segmentSizeBytes ?? Math.min(DEFAULT_SEGMENT_SIZE_BYTES, Math.floor(this.commitLogMaxBytes / 4));
    if (!(this.commitLogMaxBytes >= this.segmentSizeBytes && this.segmentSizeBytes > 0)) {
      throw new RangeError(`commitLogMaxTotalBytes (${this.commitLogMaxBytes}) must be at least the commit-log segment size (${this.segmentSizeBytes}), which must be positive`);
    }
    this.active = new Memtable();
    this.tombstoneGraceMs = opts.tombstoneGraceMs ?? DEFAULT_TOMBSTONE_GRACE_MS;
    this.nowMs = opts.nowMs ?? Date.now;
    this.logger = opts.logger ?? silentLogger;
    this.maxImmutable = Math.max(1, opts.maxImmutableMemtables ?? DEFAULT_MAX_IMMUTABLE_MEMTABLES);
    this.slowdownTables = opts.compactionSlowdownTables ?? DEFAULT_SLOWDOWN_TABLES;
    this.stopTables = opts.compactionStopTables ?? DEFAULT_STOP_TABLES;
    this.deferBatch = opts.deferBatch ?? setImmediate;
    this.builder = new TableBuilder(fs, opts.tableWorker !== false);
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
        segmentSizeBytes: this.segmentSizeBytes,
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
    // copied into a slab (the commit log may reuse its read buffer), where the memtable points
    const slab = this.slabs.withRoom(record.length);
    const start = slab.used;
    slab.buf.set(record, start);
    slab.used += record.length;
    forEachOp(slab.buf, start, record.length, (op, end) => {
      const ik = encodeInternalKey(opFields.partition, slab.buf.subarray(opFields.keyStart, opFields.keyStart + opFields.keyLength));
      this.active.apply(ik, slab, op, end - op, ++this.seq);
    });
  }

  // ---- Engine ----

  async get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.assertOpen();
    const ik = encodeInternalKey(partition, key);
    let mt = this.active;
    let entry = mt.get(ik);
    for (let i = this.immutables.length - 1; entry < 0 && i >= 0; i--) {
      mt = this.immutables[i];
      entry = mt.get(ik);
    }
    if (entry >= 0) {
      const value = mt.value(entry);
      return value === null ? undefined : Buffer.from(value);
    }
    const h1 = bloomHash1(ik);
    const h2 = bloomHash2(ik);
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
      if (this.rotation !== undefined || this.mustWait()) return this.whenWritable().then(() => this.put(partition, key, value));
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
      if (this.rotation !== undefined || this.mustWait()) return this.whenWritable().then(() => this.delete(partition, key));
      this.currentBatch().addDelete(ik, partition, key, this.nowMs(), ++this.seq);
      return this.batch!.done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A write must not join the active memtable now: it is full, counting the writes on their way to it
   * (so a crowd of writers woken at once cannot overfill it) — then a rotation starts when another
   * frozen memtable may wait for its flush, else the write stalls — or the commit log is a segment past
   * its bound while the flush that will shrink it runs, or compaction is this far behind.
   * Writes wait (see whenWritable) instead of growing memory.
   */
  private mustWait(): boolean {
    const b = this.batch;
    const bytes = this.active.sizeBytes + this.active.pendingBytes + (b === undefined ? 0 : estimatedBytes(b.used, b.count));
    if (bytes >= this.memtableSizeBytes) {
      this.maybeFlush('full');
      return true;
    }
    if (this.flushTask !== undefined && this.log.totalBytes >= this.commitLogMaxBytes + this.segmentSizeBytes) return true;
    return this.compactionTask !== undefined && this.tables.length >= this.stopTables;
  }

  /**
   * Resolves when a rotation, flush or compaction has ended: the caller checks again. A stalled write
   * rejects when the flush it waits for fails (a full disk, an I/O error): it was not written, and
   * waiting for the retries could take long — the next write waits for the next attempt.
   */
  private whenWritable(): Promise<void> {
    if (this.rotation !== undefined) return this.rotation;
    if (this.stallStartedAt < 0) {
      this.stallStartedAt = performance.now();
      this.counters.writeStalls++;
    }
    // an attempt already running when this write stalled may have begun before space came back
    const attemptsBefore = this.flushAttempts;
    return new Promise((resolve, reject) =>
      this.progressWaiters.push((failure, attempt) => {
        if (failure !== undefined && attempt > attemptsBefore) reject(toStorageError(failure, 'write'));
        else resolve();
      }),
    );
  }

  /** Resolves after the next rotation, flush attempt or compaction. */
  private progress(): Promise<void> {
    return new Promise((resolve) => this.progressWaiters.push(() => resolve()));
  }

  /** A flush attempt, rotation or compaction ended (or the engine closed): waiters check again. */
  private wakeWaiters(failure?: unknown, attempt = 0): void {
    if (this.stallStartedAt >= 0) {
      this.counters.writeStallMs += performance.now() - this.stallStartedAt;
      this.stallStartedAt = -1;
    }
    const waiters = this.progressWaiters;
    if (waiters.length === 0) return;
    this.progressWaiters = [];
    for (const w of waiters) w(failure, attempt);
  }

  /** The batch this tick's writes join; it is sent to the commit log once the tick's work is done. */
  private currentBatch(): WriteBatch {
    let b = this.batch;
    if (b !== undefined && b.used < MAX_BATCH_BYTES) return b;
    if (b !== undefined) this.sendBatch(b);
    b = new WriteBatch(this.slabs, this.lastBatchBytes);
    this.batch = b;
    const batch = b;
    if (this.compactionTask !== undefined && this.tables.length >= this.slowdownTables) {
      this.counters.writeSlowdowns++;
      setTimeout(() => this.sendBatch(batch), SLOWDOWN_DELAY_MS);
    } else this.deferBatch(() => this.sendBatch(batch));
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
    b.seal();
    this.lastBatchBytes = Math.min(b.used + 1024, MAX_BATCH_BYTES);
    const mt = this.active;
    const bytes = estimatedBytes(b.used, b.count);
    mt.beginWrite(bytes);
    this.log.append(b.record).then(
      () => {
        const slab = b.slab;
        const ops = b.ops;
        const end = b.start + b.used;
        for (let i = 0; i < b.count; i++) {
          const op = ops[i];
          mt.apply(b.keys[i], slab, op, (i + 1 < b.count ? ops[i + 1] : end) - op, b.seqs[i]);
        }
        mt.endWrite(bytes);
        b.resolve();
        if (mt === this.active) this.maybeFlush();
        // stalled writers counted these bytes as on their way: look again now they have landed
        if (this.progressWaiters.length > 0) this.wakeWaiters();
      },
      (err: unknown) => {
        mt.endWrite(bytes);
        if (this.progressWaiters.length > 0) this.wakeWaiters();
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
    const memSources: EntrySource[] = [new MemtableSource(this.active.sorted(fromKey, stopKey))];
    for (let i = this.immutables.length - 1; i >= 0; i--) memSources.push(new MemtableSource(this.immutables[i].sorted(fromKey, stopKey)));
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
    let memKeys = this.active.count;
    const logBytes = this.log.totalBytes;
    let memBytes = this.active.sizeBytes;
    for (const mt of this.immutables) {
      memKeys += mt.count;
      memBytes += mt.sizeBytes;
    }
    return {
      keys: memKeys + tableKeys,
      bytesOnDisk: tableBytes + logBytes,
      sstables: this.tables.length,
      sstableBytes: tableBytes,
      commitLogBytes: logBytes,
      memtableBytes: memBytes,
      memtableKeys: memKeys,
      immutableMemtables: this.immutables.length,
      bloomFilterBytes: bloomBytes,
      blockCacheBytes: this.cache.sizeBytes,
      blockCacheHits: this.cache.hits,
      blockCacheMisses: this.cache.misses,
      ...this.counters,
      writeStallMs: Math.round(this.counters.writeStallMs),
    };
  }

  /**
   * Freezes the memtable (if it holds anything) and waits until it, and every memtable frozen before
   * it, is durable in an SSTable.
   */
  async flush(): Promise<void> {
    this.assertOpen();
    while (this.rotation !== undefined) await this.rotation;
    const target = this.active;
    if (target.count > 0) {
      while (this.immutables.length >= this.maxImmutable) {
        this.assertOpen();
        await this.progress();
      }
      while (this.rotation !== undefined) await this.rotation;
      if (this.active === target) {
        this.maybeFlush('asked');
        await this.rotation;
        if (this.active === target) throw new RingkvError('STORAGE_IO', 'flush did not complete: the commit log could not rotate (see the log)');
      }
    }
    const last = this.immutables[this.immutables.length - 1];
    while (last !== undefined && this.immutables.includes(last)) {
      if (this.closed) throw new RingkvError('STORAGE_IO', 'flush did not complete: the engine closed');
      await this.progress();
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
      this.wakeWaiters();
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
    this.compactionJob?.cancel();
    this.wakeWaiters();
    await this.rotation;
    await this.flushTask?.catch(() => undefined);
    await this.compactionTask?.catch(() => undefined);
    await this.manifestChain.catch(() => undefined);
    try {
      await this.log.close();
    } finally {
      await this.builder.close();
      for (const t of this.tables) t.unref();
      this.tables = [];
    }
  }

  /**
   * Stops the engine dead, as a crash would: no flush, no close, and every later file operation of
   * this engine (its table worker's included) fails. For crash simulations, before the disk is
   * crashed and the engine reopened.
   */
  halt(): void {
    this.closed = true;
    this.fs.fence();
    void this.builder.close();
    this.wakeWaiters();
  }

  // ---- flush ----

  /**
   * Freezes the active memtable and starts its flush, when another frozen one may wait and the
   * memtable is full ('full': the caller counted it full; 'asked': flush() wants it frozen whatever
   * its size, and now, even right after a failed rotation) or the commit log is past its bound.
   */
  private maybeFlush(why?: 'full' | 'asked'): void {
    if (this.closed || this.rotation !== undefined || this.immutables.length >= this.maxImmutable) return;
    if (this.active.count === 0 && this.active.pendingWrites === 0) return;
    const full = this.active.sizeBytes >= this.memtableSizeBytes;
    if (why === undefined && !full && !this.commitLogOverBound()) return;
    if (why !== 'asked' && performance.now() < this.rotateRetryAt) return;
    if (why === undefined && !full) this.counters.commitLogBoundFlushes++;
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
          this.immutables.push(mt);
          this.active = new Memtable();
          this.startFlushing();
        },
        (err) => {
          this.counters.flushFailures++;
          this.rotateRetryAt = performance.now() + FLUSH_RETRY_MIN_MS;
          this.logger.error({ err: String(err) }, 'commit-log rotation failed; flush postponed');
          // writers stalled on this rotation are refused with its error once the retry is due
          setTimeout(() => this.wakeWaiters(err, Infinity), FLUSH_RETRY_MIN_MS).unref();
        },
      )
      .finally(() => {
        this.rotation = undefined;
        this.wakeWaiters();
      });
  }

  /**
   * The commit log holds more than its bound and no flush is under way (whose end releases segments and
   * looks again): flushing the active memtable lets every segment but the new active one go.
   */
  private commitLogOverBound(): boolean {
    return this.flushTask === undefined && this.log.totalBytes > this.commitLogMaxBytes;
  }

  /** Flushes the frozen memtables, oldest first, until none is left. */
  private startFlushing(): void {
    if (this.flushTask !== undefined) return;
    this.flushTask = (async () => {
      while (!this.closed && this.immutables.length > 0) await this.flushFrozen(this.immutables[0]);
    })().finally(() => {
      this.flushTask = undefined;
      if (!this.closed) {
        this.maybeFlush();
        this.maybeCompact();
      }
      // writes held back by the commit-log bound look again, now that its segments are released
      this.wakeWaiters();
    });
  }

  private async flushFrozen(mt: Memtable): Promise<void> {
    await mt.drained();
    let delayMs = FLUSH_RETRY_MIN_MS;
    for (;;) {
      if (this.closed) return;
      const attempt = ++this.flushAttempts;
      try {
        await this.flushOnce(mt);
        return;
      } catch (err) {
        if (this.closed) return;
        this.counters.flushFailures++;
        this.logger.error({ err: String(err), retryInMs: delayMs }, 'memtable flush failed; will retry');
        this.wakeWaiters(err, attempt);
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, FLUSH_RETRY_MAX_MS);
      }
    }
  }

  private async flushOnce(mt: Memtable): Promise<void> {
    let reader: SstableReader | undefined;
    if (mt.count > 0) reader = await this.buildTable((path, table) => ({ kind: 'flush', path, table, ...mt.flushPlan() }));
    const applied = await this.commitTables(
      (current) => (reader === undefined ? current : [reader, ...current]),
      mt.segmentId,
      () => {
        this.immutables.shift();
        // room for another frozen memtable: a full active one rotates now, not after the whole queue
        this.maybeFlush();
        this.wakeWaiters();
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

  /**
   * Builds a new table with the job `jobFor` describes (in the table worker), then opens it; the job
   * leaves no file behind when it fails or has nothing to write (undefined). `onJob` sees the job
   * running (compaction keeps it, to cancel it at close).
   */
  private async buildTable(jobFor: (path: string, table: TableOptions) => TableJob, onJob?: (job: RunningJob) => void): Promise<SstableReader | undefined> {
    const name = `${String(this.nextFileNumber++).padStart(6, '0')}${TABLE_SUFFIX}`;
    const path = this.path(name);
    const job = this.builder.run(jobFor(path, { blockSizeBytes: this.opts.blockSizeBytes, compression: this.opts.compression, createdAtMs: this.nowMs() }));
    onJob?.(job);
    const result = await job.done;
    if (!result.written) return undefined;
    try {
      return this.prepared(await SstableReader.open(this.fs, path, name, this.cache));
    } catch (err) {
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
        if (!(err instanceof EngineClosedError)) this.logger.error({ err: String(err) }, 'compaction failed');
      })
      .finally(() => {
        this.compactionTask = undefined;
        this.wakeWaiters();
        this.maybeCompact();
      });
  }

  private async runCompaction(inputs: SstableReader[]): Promise<void> {
    for (const t of inputs) t.ref();
    try {
      const oldest = inputs[inputs.length - 1];
      const includesOldest = this.tables[this.tables.length - 1] === oldest;
      // only safe with no older table outside this merge that could hold the key
      const dropAtOrBefore = includesOldest ? this.nowMs() - this.tombstoneGraceMs : undefined;
      let output: SstableReader | undefined;
      let dropped = 0;
      try {
        output = await this.buildTable(
          (path, table) => ({
            kind: 'compact',
            path,
            table,
            inputs: inputs.map((t) => ({ path: this.path(t.fileName), fileName: t.fileName })),
            dropTombstonesAtOrBeforeMs: dropAtOrBefore,
            rateBytesPerSec: this.opts.compactionRateBytesPerSec ?? DEFAULT_COMPACTION_RATE,
          }),
          (job) => {
            this.compactionJob = job;
            void job.done.then((r) => (dropped = r.tombstonesDropped), () => undefined);
          },
        );
      } catch (err) {
        const input = (err as JobCorruptTableError).input;
        if (err instanceof CorruptTableError && input !== undefined && inputs[input] !== undefined) {
          this.quarantine(inputs[input], err);
          return;
        }
        if (err instanceof JobCancelledError || this.closed) throw new EngineClosedError();
        throw err;
      } finally {
        this.compactionJob = undefined;
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
