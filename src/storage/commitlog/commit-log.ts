import { posix } from 'node:path';
import type { FileHandle, FS } from '../fs/fs.js';
import { canAppendSync, isFsError, type SyncAppendableHandle } from '../fs/fs.js';
import { CommitLogCorruptError } from './commit-log-corrupt-error.js';
import { encodeRecord, MAX_RECORD_PAYLOAD_BYTES } from './record-format.js';
import { replaySegment } from './replay-segment.js';
import { parseSegmentFileName, segmentFileName } from './segment-name.js';

export { CommitLogCorruptError } from './commit-log-corrupt-error.js';

/**
 * The write-ahead log in front of the memtable: a directory of segment files, each a sequence of
 * checksummed records (framing in record-format.ts).
 *
 * Durability by sync mode:
 * - `batch`: append() resolves only after an fsync that covers its record. Appends that arrive while
 *   a write+fsync is in flight are queued and then written as ONE append followed by ONE fsync
 *   (group commit), so many concurrent writers share each fsync.
 * - `periodic`: append() resolves once the record is written to the file (the OS page cache); a timer
 *   fsyncs every `periodicSyncMs` (appends go on being written while that fsync is in flight). A machine crash (not a process crash) may lose the writes of the
 *   last `periodicSyncMs` plus one fsync duration, although they were acknowledged.
 *
 * Failure rules:
 * - An fsync error is never retried as if it worked. The appends waiting on it reject, and the segment
 *   is abandoned: it is never fsynced or written again, and the next append rolls to a new segment.
 *   Nothing is rewritten: the rejected appends were never acknowledged (they may or may not reappear
 *   after a restart, like any write whose outcome the client did not learn). In periodic mode, where
 *   the lost bytes had been acknowledged, the failure is logged and from then on every sync() and close()
 *   rejects (until the log is reopened): "everything acknowledged before this call is durable" can no
 *   longer be claimed, and an explicit sync never claims durability it did not get.
 * - A failed append (ENOSPC, EIO) rejects the appends of its group. If the file kept a partial write,
 *   the segment is abandoned as above; if the file is unchanged, later appends continue in it — so
 *   appends succeed again once space is back, without a new file per failure.
 * - New segment files become usable only after the directory fsync that makes their name durable, so
 *   a crash cannot lose a segment that holds acknowledged writes; deletions are fsynced too.
 * - Rolling to a new segment first fsyncs the old one (unless its fsync failed before), so only the
 *   newest segment — or an abandoned one — can end in a torn write.
 *
 * Recovery (open): segments are replayed in id order. A torn tail (partial header, a record cut short,
 * zero fill) is expected after a crash or an abandoned segment and is cut off with a warning in any
 * segment. A corrupt tail (a complete record with a bad checksum, or garbage) is cut off in the last
 * segment; in an earlier segment, and for corruption followed by valid records anywhere, open throws
 * CommitLogCorruptError unless `skipCorrupt`, which logs and skips the bad bytes. The last segment is
 * truncated to its valid length so the next start-up finds it clean; then a new segment is started
 * for appends (a replayed segment is never appended to). Empty replayed segments are deleted.
 * Skipped corruption is left on disk (evidence), so the next start-up meets it again until the
 * segment is released: after a skipCorrupt recovery the engine should flush and releaseUpTo().
 * Known limit of skipping: after a bad header the reader resynchronises byte by byte, so a payload
 * that itself contains a well-formed commit-log frame could be replayed as a record; without
 * skipCorrupt this can only turn a "cut the tail" decision into a CommitLogCorruptError.
 *
 * Segment ids only grow, also across restarts (the newest segment is never deleted at open), so an
 * id recorded elsewhere (e.g. in a manifest) keeps its meaning.
 */
export type SyncMode = 'batch' | 'periodic';

export interface CommitLogLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/** Starts calling `tick` every `intervalMs`; returns a function that stops it. */
export type SyncScheduler = (tick: () => void, intervalMs: number) => () => void;

export interface CommitLogOptions {
  dir: string;
  syncMode: SyncMode;
  /** periodic mode: fsync interval. @default 10 */
  periodicSyncMs?: number;
  /** Roll to a new segment when the next group would make the current one exceed this. @default 64 MiB */
  segmentSizeBytes?: number;
  /** Log and skip corruption before the tail instead of failing start-up. @default false */
  skipCorrupt?: boolean;
  logger?: CommitLogLogger;
  /** Upper bound on the bytes written by one group commit. @default 8 MiB */
  maxGroupBytes?: number;
  /** periodic mode: how the sync timer is driven (tests inject a manual one). @default unref'ed setInterval */
  syncScheduler?: SyncScheduler;
}

export interface CommitLogRecovery {
  segmentsReplayed: number;
  recordsReplayed: number;
  /** Torn or corrupt tails cut off (logged). */
  tailsCut: number;
  /** Corrupt regions skipped because of skipCorrupt (logged). */
  corruptRegionsSkipped: number;
}

export interface CommitLogStats {
  activeSegmentId: number | undefined;
  appends: number;
  appendBytes: number;
  /** File writes (one per group). */
  groupWrites: number;
  syncs: number;
  syncErrors: number;
  appendErrors: number;
  segmentsRolled: number;
  /** Bytes of the live segment files (the active one included): what the commit log holds on disk. */
  totalBytes: number;
}

export const DEFAULT_PERIODIC_SYNC_MS = 10;
export const DEFAULT_SEGMENT_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_GROUP_BYTES = 8 * 1024 * 1024;

interface ActiveSegment {
  id: number;
  path: string;
  handle: FileHandle;
  writtenBytes: number;
  syncedBytes: number;
  /**
   * Why the segment takes no more appends: after a failed fsync it is never fsynced again either;
   * after a partial write it may still be fsynced (to keep what periodic mode acknowledged).
   */
  abandoned: 'fsync-failed' | 'partial-write' | undefined;
}

type Op =
  | { kind: 'record'; frame: Uint8Array; resolve: () => void; reject: (err: unknown) => void }
  | { kind: 'rotate'; resolve: (closedId: number) => void; reject: (err: unknown) => void }
  | { kind: 'sync'; resolve: () => void; reject: (err: unknown) => void; fromTimer: boolean }
  | { kind: 'close'; resolve: () => void; reject: (err: unknown) => void };

type RecordOp = Extract<Op, { kind: 'record' }>;

const noopLogger: CommitLogLogger = { warn() {}, info() {} };

const defaultScheduler: SyncScheduler = (tick, intervalMs) => {
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};

export class CommitLog {
  /** What open() found and did while replaying. */
  readonly recovery: CommitLogRecovery;

  private readonly dir: string;
  private readonly syncMode: SyncMode;
  private readonly segmentSizeBytes: number;
  private readonly maxGroupBytes: number;
  private readonly logger: CommitLogLogger;
  private active: ActiveSegment | undefined;
  private nextSegmentId: number;
  /** Every operation on the active segment runs in order from this queue, one at a time (but the timer's fsync). */
  private readonly ops: Op[] = [];
  private pumping = false;
  /** a timer fsync is queued or in flight (never more than one) */
  private timerSyncQueued = false;
  /** the timer's fsync in flight, which runs beside the queue (see startTimerSync) */
  private timerSync: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private stopTimer: (() => void) | undefined;
  private releaseChain: Promise<void> = Promise.resolve();
  /** bytes of each live segment but the active one, by id (replayed ones included) */
  private readonly closedSegmentBytes: Map<number, number>;
  /** their sum */
  private closedBytes = 0;
  /** Set for good when an fsync failed over bytes whose appends had already resolved (periodic mode). */
  private acknowledgedWritesLost: { file: string; cause: unknown } | undefined;
  private readonly counters: Omit<CommitLogStats, 'activeSegmentId' | 'totalBytes'> = {
    appends: 0, appendBytes: 0, groupWrites: 0, syncs: 0, syncErrors: 0, appendErrors: 0, segmentsRolled: 0,
  };

  private constructor(
    private readonly fs: FS,
    opts: CommitLogOptions,
    nextSegmentId: number,
    recovery: CommitLogRecovery,
    replayedSegmentBytes: Map<number, number>,
  ) {
    this.dir = opts.dir;
    this.syncMode = opts.syncMode;
    this.segmentSizeBytes = opts.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
    this.maxGroupBytes = opts.maxGroupBytes ?? DEFAULT_MAX_GROUP_BYTES;
    this.logger = opts.logger ?? noopLogger;
    this.nextSegmentId = nextSegmentId;
    this.recovery = recovery;
    this.closedSegmentBytes = replayedSegmentBytes;
    for (const bytes of replayedSegmentBytes.values()) this.closedBytes += bytes;
  }

  /**
   * Opens dir, replays every live segment in order, calling onRecord(record, segmentId) for each valid
   * record, then starts a new segment for appends.
   */
  static async open(
    fs: FS,
    opts: CommitLogOptions,
    onRecord: (record: Uint8Array, segmentId: number) => void,
  ): Promise<CommitLog> {
    validateOptions(opts);
    const logger = opts.logger ?? noopLogger;
    await fs.mkdirp(opts.dir);
    const segments = (await fs.list(opts.dir))
      .map((name) => ({ name, id: parseSegmentFileName(name) }))
      .filter((s): s is { name: string; id: number } => s.id !== undefined)
      .sort((a, b) => a.id - b.id);

    const recovery: CommitLogRecovery = { segmentsReplayed: 0, recordsReplayed: 0, tailsCut: 0, corruptRegionsSkipped: 0 };
    const emptySegments: string[] = [];
    const replayedBytes = new Map<number, number>();
    for (let i = 0; i < segments.length; i++) {
      const { name, id } = segments[i];
      const path = posix.join(opts.dir, name);
      const isLast = i === segments.length - 1;
      const result = await replaySegment(
        fs,
        path,
        (payload) => onRecord(payload, id),
        (region) => {
          if (!opts.skipCorrupt) throw new CommitLogCorruptError(path, region.start, region.reason);
          recovery.corruptRegionsSkipped++;
          logger.warn({ file: path, offset: region.start, endOffset: region.end, reason: region.reason }, 'commit log: skipping corrupt records (skipCorrupt)');
        },
      );
      recovery.segmentsReplayed++;
      recovery.recordsReplayed += result.records;
      if (result.tail !== 'clean') {
        const detail = { file: path, offset: result.validLengthBytes, sizeBytes: result.sizeBytes, reason: result.tailReason, tail: result.tail };
        if (result.tail === 'corrupt' && !isLast) {
          if (!opts.skipCorrupt) throw new CommitLogCorruptError(path, result.validLengthBytes, `${result.tailReason ?? 'corrupt record'} at the end of a segment that is not the last`);
          recovery.corruptRegionsSkipped++;
          logger.warn(detail, 'commit log: skipping corrupt tail of an earlier segment (skipCorrupt)');
        } else {
          recovery.tailsCut++;
          logger.warn(detail, `commit log: cutting ${result.tail} tail (${result.sizeBytes - result.validLengthBytes} bytes)`);
          if (isLast) await cutTail(fs, path, result.validLengthBytes);
        }
      }
      if (result.sizeBytes === 0) emptySegments.push(path);
      else replayedBytes.set(id, isLast && result.tail !== 'clean' ? result.validLengthBytes : result.sizeBytes);
    }
    if (recovery.segmentsReplayed > 0) logger.info({ dir: opts.dir, ...recovery }, 'commit log replayed');

    const nextId = segments.length > 0 ? segments[segments.length - 1].id + 1 : 1;
    const log = new CommitLog(fs, opts, nextId, recovery, replayedBytes);
    await log.roll();
    // Only after the new segment is durable, so the highest id ever used stays on disk.
    if (emptySegments.length > 0) {
      for (const path of emptySegments) await fs.unlink(path);
      await fs.syncDir(opts.dir);
    }
    if (opts.syncMode === 'periodic') {
      const scheduler = opts.syncScheduler ?? defaultScheduler;
      log.stopTimer = scheduler(() => log.onTimer(), opts.periodicSyncMs ?? DEFAULT_PERIODIC_SYNC_MS);
    }
    return log;
  }

  /** batch: resolves after the fsync covering the record; periodic: after the write. */
  append(record: Uint8Array): Promise<void> {
    if (this.closing) return Promise.reject(new Error('commit log is closed'));
    if (record.length > MAX_RECORD_PAYLOAD_BYTES) {
      return Promise.reject(new RangeError(`commit log record of ${record.length} bytes exceeds the limit of ${MAX_RECORD_PAYLOAD_BYTES} bytes`));
    }
    const frame = encodeRecord(record);
    if (this.canWriteNow(frame.length)) return this.writeNow(frame);
    return new Promise<void>((resolve, reject) => this.enqueue({ kind: 'record', frame, resolve, reject }));
  }

  /**
   * Periodic mode, nothing queued or in flight, a healthy segment with room and a handle that writes
   * synchronously: the record is written at once on this thread. A page-cache write of a few KiB
   * costs a few microseconds, where a thread-pool round trip leaves every writer of the tick idle
   * until it returns (measured: a quarter of a put run's wall time).
   */
  private canWriteNow(frameBytes: number): boolean {
    if (this.syncMode !== 'periodic' || this.pumping || this.ops.length > 0) return false;
    const seg = this.active;
    if (seg === undefined || seg.abandoned !== undefined || !canAppendSync(seg.handle)) return false;
    return seg.writtenBytes === 0 || seg.writtenBytes + frameBytes <= this.segmentSizeBytes;
  }

  private writeNow(frame: Uint8Array): Promise<void> {
    const seg = this.active!;
    try {
      (seg.handle as SyncAppendableHandle).appendSync(frame);
    } catch (err) {
      this.counters.appendErrors++;
      const written = (err as { bytesWritten?: number }).bytesWritten ?? 0;
      if (written > 0) {
        seg.abandoned = 'partial-write';
        seg.writtenBytes += written;
        this.logger.warn({ file: seg.path, err: describe(err), partialBytes: written }, 'commit log: write failed leaving a partial record; abandoning segment');
      } else this.logger.warn({ file: seg.path, err: describe(err) }, 'commit log: write failed; nothing was written');
      return Promise.reject(err);
    }
    seg.writtenBytes += frame.length;
    this.counters.groupWrites++;
    this.counters.appends++;
    this.counters.appendBytes += frame.length;
    return Promise.resolve();
  }

  /**
   * Starts a new segment; returns the id of the segment just closed. Every append called before
   * rotate() lives in segments <= that id, every append called after it in later segments.
   */
  rotate(): Promise<number> {
    if (this.closing) return Promise.reject(new Error('commit log is closed'));
    return new Promise<number>((resolve, reject) => this.enqueue({ kind: 'rotate', resolve, reject }));
  }

  /** fsyncs everything written so far (useful in periodic mode); rejects if the fsync fails. */
  sync(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('commit log is closed'));
    return new Promise<void>((resolve, reject) => this.enqueue({ kind: 'sync', resolve, reject, fromTimer: false }));
  }

  /** Deletes segments with id <= segmentId (their contents were flushed to SSTables). */
  releaseUpTo(segmentId: number): Promise<void> {
    const run = this.releaseChain.then(() => this.release(segmentId));
    this.releaseChain = run.catch(() => undefined);
    return run;
  }

  /** Writes and fsyncs what is queued, then closes the active segment. Later appends reject. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve, reject) => this.enqueue({ kind: 'close', resolve, reject }));
    }
    return this.closing;
  }

  get activeSegmentId(): number | undefined {
    return this.active?.id;
  }

  /** Bytes of the live segment files, the active one included (what releaseUpTo can shrink). */
  get totalBytes(): number {
    return this.closedBytes + (this.active?.writtenBytes ?? 0);
  }

  stats(): CommitLogStats {
    return { activeSegmentId: this.active?.id, ...this.counters, totalBytes: this.totalBytes };
  }

  // ---- the operation pump ----

  private enqueue(op: Op): void {
    this.ops.push(op);
    if (!this.pumping) {
      this.pumping = true;
      void this.pump();
    }
  }

  private async pump(): Promise<void> {
    try {
      // Let the appends of the current tick join the first group.
      await Promise.resolve();
      while (this.ops.length > 0) {
        const head = this.ops[0];
        if (head.kind === 'record') {
          await this.writeGroup(this.takeGroup());
        } else if (head.kind === 'sync' && head.fromTimer) {
          this.ops.shift();
          this.startTimerSync();
        } else {
          this.ops.shift();
          await this.runControl(head);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private takeGroup(): RecordOp[] {
    const group: RecordOp[] = [];
    let bytes = 0;
    while (this.ops.length > 0) {
      const op = this.ops[0];
      if (op.kind !== 'record') break;
      if (group.length > 0 && bytes + op.frame.length > this.maxGroupBytes) break;
      this.ops.shift();
      group.push(op);
      bytes += op.frame.length;
    }
    return group;
  }

  private async writeGroup(group: RecordOp[]): Promise<void> {
    const data = concat(group.map((op) => op.frame));
    try {
      await this.ensureWritable(data.length);
    } catch (err) {
      this.counters.appendErrors++;
      for (const op of group) op.reject(err);
      return;
    }
    const seg = this.active!;
    try {
      await seg.handle.append(data);
      seg.writtenBytes += data.length;
      this.counters.groupWrites++;
    } catch (err) {
      this.counters.appendErrors++;
      await this.checkAfterFailedAppend(seg, err);
      for (const op of group) op.reject(err);
      return;
    }
    if (this.syncMode === 'batch') {
      try {
        await this.syncSegment(seg, false);
      } catch (err) {
        for (const op of group) op.reject(err);
        return;
      }
    }
    this.counters.appends += group.length;
    this.counters.appendBytes += data.length;
    for (const op of group) op.resolve();
  }

  /**
   * The timer's fsync runs beside the queue instead of in it: appends keep being written while it is
   * in flight (it covers the bytes written before it started). Every other operation waits for it
   * first (roll, sync(), close), so at most one fsync of a segment is ever in flight and no handle is
   * closed under one. A failure abandons the segment as any failed fsync does; an append already
   * being written then may still land in it — acknowledged in periodic mode, and covered by the
   * loss that every later sync() and close() reports.
   */
  private startTimerSync(): void {
    const seg = this.active;
    if (!seg || !needsSync(seg)) {
      this.timerSyncQueued = false;
      return;
    }
    this.timerSync = this.syncSegment(seg, this.syncMode === 'periodic')
      // A timer tick has nobody to tell: logged and counted by syncSegment; the next append rolls.
      .catch(() => undefined)
      .finally(() => {
        this.timerSync = undefined;
        this.timerSyncQueued = false;
      });
  }

  private async timerSyncDone(): Promise<void> {
    while (this.timerSync !== undefined) await this.timerSync;
  }

  private async runControl(op: Exclude<Op, RecordOp>): Promise<void> {
    await this.timerSyncDone();
    switch (op.kind) {
      case 'rotate': {
        const closedId = this.active ? this.active.id : this.nextSegmentId - 1;
        try {
          await this.roll();
          op.resolve(closedId);
        } catch (err) {
          op.reject(err);
        }
        return;
      }
      case 'sync': {
        // (the timer's syncs never come here: see startTimerSync)
        const seg = this.active;
        try {
          if (seg && needsSync(seg)) await this.syncSegment(seg, this.syncMode === 'periodic');
          this.throwIfAcknowledgedWritesLost();
          op.resolve();
        } catch (err) {
          op.reject(err);
        }
        return;
      }
      case 'close': {
        this.stopTimer?.();
        this.stopTimer = undefined;
        const seg = this.active;
        this.active = undefined;
        let failure: unknown;
        if (seg) {
          try {
            if (needsSync(seg)) await this.syncSegment(seg, this.syncMode === 'periodic');
          } catch (err) {
            failure = err;
          }
          try {
            await seg.handle.close();
          } catch (err) {
            failure ??= err;
          }
        }
        try {
          this.throwIfAcknowledgedWritesLost();
        } catch (err) {
          failure ??= err;
        }
        // Operations queued behind close (there can be none from the public API) are refused.
        for (const rest of this.ops.splice(0)) rest.reject(new Error('commit log is closed'));
        if (failure === undefined) op.resolve();
        else op.reject(failure);
        return;
      }
    }
  }

  private onTimer(): void {
    const seg = this.active;
    if (this.timerSyncQueued || this.closing || !seg || !needsSync(seg)) return;
    this.timerSyncQueued = true;
    this.enqueue({
      kind: 'sync',
      fromTimer: true,
      resolve: () => {},
      // Already logged and counted by syncSegment; the segment is abandoned and the next append rolls.
      reject: () => {},
    });
  }

  // ---- segments ----

  private async ensureWritable(nextBytes: number): Promise<void> {
    const seg = this.active;
    if (!seg || seg.abandoned) {
      await this.roll();
    } else if (seg.writtenBytes > 0 && seg.writtenBytes + nextBytes > this.segmentSizeBytes) {
      await this.roll();
    }
  }

  /**
   * fsync; on failure the segment is abandoned for good (an fsync error is never retried). When the
   * unsynced bytes had been acknowledged (periodic mode), the loss is remembered so that every later
   * sync() and close() reports it instead of pretending everything acknowledged is durable.
   */
  private async syncSegment(seg: ActiveSegment, bytesAcknowledged: boolean): Promise<void> {
    const target = seg.writtenBytes;
    try {
      await seg.handle.sync();
    } catch (err) {
      seg.abandoned = 'fsync-failed';
      this.counters.syncErrors++;
      if (bytesAcknowledged && target > seg.syncedBytes) this.acknowledgedWritesLost ??= { file: seg.path, cause: err };
      this.logger.warn({ file: seg.path, err: describe(err), unsyncedBytes: target - seg.syncedBytes }, 'commit log: fsync failed; abandoning segment, next append rolls to a new one');
      throw err;
    }
    seg.syncedBytes = Math.max(seg.syncedBytes, target);
    this.counters.syncs++;
  }

  private throwIfAcknowledgedWritesLost(): void {
    const lost = this.acknowledgedWritesLost;
    if (!lost) return;
    const err = new Error(`commit log: an fsync of ${lost.file} failed (${describe(lost.cause)}); writes acknowledged before it may be lost`, { cause: lost.cause });
    (err as { code?: string }).code = (lost.cause as { code?: string })?.code ?? 'EIO';
    throw err;
  }

  private async checkAfterFailedAppend(seg: ActiveSegment, err: unknown): Promise<void> {
    let sizeNow: number | undefined;
    try {
      sizeNow = await seg.handle.size();
    } catch {
      sizeNow = undefined;
    }
    if (sizeNow !== seg.writtenBytes) {
      seg.abandoned = 'partial-write';
      this.logger.warn({ file: seg.path, err: describe(err), sizeBytes: sizeNow, expectedBytes: seg.writtenBytes }, 'commit log: write failed leaving a partial record; abandoning segment');
    } else {
      this.logger.warn({ file: seg.path, err: describe(err) }, 'commit log: write failed; nothing was written');
    }
  }

  /**
   * Makes a new segment the active one: fsyncs the old one (a failure is logged, remembered for
   * sync()/close() and the old segment abandoned — in batch mode nothing unsynced in it was acknowledged), creates the new file and makes
   * its name durable, and only then closes the old one. If the new segment cannot be created, the old
   * one stays active (when healthy) and the error is thrown.
   */
  private async roll(): Promise<void> {
    await this.timerSyncDone();
    const old = this.active;
    if (old && needsSync(old)) {
      try {
        await this.syncSegment(old, this.syncMode === 'periodic');
      } catch {
        // logged in syncSegment; the old segment is abandoned, the roll goes on
      }
    }
    const id = this.nextSegmentId++;
    const path = posix.join(this.dir, segmentFileName(id));
    const handle = await this.fs.openAppend(path);
    try {
      await this.fs.syncDir(this.dir);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    this.active = { id, path, handle, writtenBytes: 0, syncedBytes: 0, abandoned: undefined };
    this.counters.segmentsRolled++;
    if (old) {
      this.closedSegmentBytes.set(old.id, old.writtenBytes);
      this.closedBytes += old.writtenBytes;
      try {
        await old.handle.close();
      } catch (err) {
        this.logger.warn({ file: old.path, err: describe(err) }, 'commit log: closing old segment failed');
      }
    }
  }

  private async release(segmentId: number): Promise<void> {
    // Never the active segment, nor the id the next roll will use.
    const limit = Math.min(segmentId, (this.active?.id ?? this.nextSegmentId) - 1);
    if (segmentId > limit) this.logger.warn({ requested: segmentId, limit }, 'commit log: releaseUpTo clamped below the active segment');
    let removed = 0;
    for (const name of await this.fs.list(this.dir)) {
      const id = parseSegmentFileName(name);
      if (id === undefined || id > limit) continue;
      try {
        await this.fs.unlink(posix.join(this.dir, name));
        removed++;
      } catch (err) {
        if (!isFsError(err, 'ENOENT')) throw err;
      }
      this.closedBytes -= this.closedSegmentBytes.get(id) ?? 0;
      this.closedSegmentBytes.delete(id);
    }
    if (removed > 0) await this.fs.syncDir(this.dir);
  }
}

function needsSync(seg: ActiveSegment): boolean {
  return seg.abandoned !== 'fsync-failed' && seg.syncedBytes < seg.writtenBytes;
}

function validateOptions(opts: CommitLogOptions): void {
  if (opts.syncMode !== 'batch' && opts.syncMode !== 'periodic') throw new RangeError(`commit log syncMode must be 'batch' or 'periodic', got ${String(opts.syncMode)}`);
  const positive = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new RangeError(`commit log ${name} must be a positive number, got ${v}`);
  };
  positive('periodicSyncMs', opts.periodicSyncMs);
  positive('segmentSizeBytes', opts.segmentSizeBytes);
  positive('maxGroupBytes', opts.maxGroupBytes);
}

/** Cuts a torn or corrupt tail so the segment replays clean next time, and makes the cut durable. */
async function cutTail(fs: FS, path: string, lengthBytes: number): Promise<void> {
  await fs.truncate(path, lengthBytes);
  const handle = await fs.openAppend(path);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function describe(err: unknown): string {
  if (err instanceof Error) return (err as { code?: string }).code ? `${(err as { code?: string }).code}: ${err.message}` : err.message;
  return String(err);
}
