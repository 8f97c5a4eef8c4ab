/**
 * The two ways an SSTable is made — flushing a frozen memtable and compacting tables — as jobs that
 * run over any FS: in the table worker (table-worker.ts, through a RemoteFS) or, without a worker, on
 * the engine's thread. A job writes, fsyncs and closes its output file (or removes it when the output
 * would be empty, or the job fails); the engine opens it and puts it in the manifest.
 */
import type { FS } from '../fs/fs.js';
import { BlockCache } from './block-cache.js';
import { encodeInternalKey } from './internal-key.js';
import { sortedOrder } from './key-sort.js';
import { MergeCursor } from './merge-cursor.js';
import { RateLimiter } from './rate-limiter.js';
import { CorruptTableError, type BlockCompression, type TableMeta } from './sstable-format.js';
import { SstableReader, TableCursor } from './sstable-reader.js';
import { SstableWriter } from './sstable-writer.js';
import { opFields, readOp } from './write-batch.js';

export interface TableOptions {
  blockSizeBytes?: number;
  compression?: BlockCompression;
  createdAtMs: number;
}

/**
 * A frozen memtable as ops in shared slabs, in no particular order (the job sorts them): entry i is the
 * op at plan[2i + 1] in the slab with id plan[2i].
 */
export interface FlushJob {
  kind: 'flush';
  path: string;
  slabs: { id: number; sab: SharedArrayBuffer }[];
  plan: Int32Array;
  count: number;
  table: TableOptions;
}

export interface CompactionJob {
  kind: 'compact';
  path: string;
  /** newest first, as in the engine's table list */
  inputs: { path: string; fileName: string }[];
  /** tombstones written at or before this are dropped; undefined = keep every tombstone */
  dropTombstonesAtOrBeforeMs: number | undefined;
  rateBytesPerSec: number;
  table: TableOptions;
}

export type TableJob = FlushJob | CompactionJob;

export interface TableJobResult {
  /** false: nothing to write, no file was left */
  written: boolean;
  sizeBytes: number;
  meta: TableMeta | undefined;
  tombstonesDropped: number;
}

/** Thrown inside a job when the engine asked it to stop. */
export class JobCancelledError extends Error {
  constructor() {
    super('table job cancelled');
    this.name = 'JobCancelledError';
  }
}

export function runTableJob(fs: FS, job: TableJob, cancelled: () => boolean): Promise<TableJobResult> {
  return job.kind === 'flush' ? runFlush(fs, job, cancelled) : runCompaction(fs, job, cancelled);
}

/** Creates the output, fills it through `fill`, finishes it; on failure or when empty the file is removed. */
async function writeOutput(fs: FS, path: string, options: SstableWriterArgs, fill: (w: SstableWriter) => Promise<number>): Promise<TableJobResult> {
  const writer = await SstableWriter.create(fs, path, options);
  try {
    const dropped = await fill(writer);
    if (writer.entryCount === 0) {
      await writer.abort();
      await fs.unlink(path).catch(() => undefined);
      return { written: false, sizeBytes: 0, meta: undefined, tombstonesDropped: dropped };
    }
    const done = await writer.finish();
    return { written: true, sizeBytes: done.sizeBytes, meta: done.meta, tombstonesDropped: dropped };
  } catch (err) {
    await writer.abort();
    await fs.unlink(path).catch(() => undefined);
    throw err;
  }
}

type SstableWriterArgs = Parameters<typeof SstableWriter.create>[2];

async function runFlush(fs: FS, job: FlushJob, cancelled: () => boolean): Promise<TableJobResult> {
  const slabs = new Map<number, Buffer>();
  for (const s of job.slabs) slabs.set(s.id, Buffer.from(s.sab));
  const plan = job.plan;
  const n = job.count;
  const bufs: Buffer[] = new Array(n);
  const keys: string[] = new Array(n);
  // (partition, first six key bytes) as numbers that order like the keys as far as they go
  const partitions = new Float64Array(n);
  const heads = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const buf = slabs.get(plan[2 * i])!;
    readOp(buf, plan[2 * i + 1], buf.length);
    bufs[i] = buf;
    const k = opFields.keyStart;
    const len = opFields.keyLength;
    keys[i] = encodeInternalKey(opFields.partition, buf.subarray(k, k + len));
    partitions[i] = opFields.partition;
    let head = 0;
    for (let j = 0; j < 6; j++) head = head * 256 + (j < len ? buf[k + j] : 0);
    heads[i] = head;
  }
  const order = sortedOrder(keys, partitions, heads);
  return writeOutput(fs, job.path, { ...job.table }, async (writer) => {
    for (let j = 0; j < n; j++) {
      if ((j & 4095) === 0 && cancelled()) throw new JobCancelledError();
      const i = order[j];
      const buf = bufs[i];
      readOp(buf, plan[2 * i + 1], buf.length);
      const p =
        opFields.valueStart < 0
          ? writer.addTombstone(keys[i], opFields.tsMs)
          : writer.addPut(keys[i], buf.subarray(opFields.valueStart, opFields.valueStart + opFields.valueLength));
      if (p !== undefined) await p;
    }
    return 0;
  });
}

async function runCompaction(fs: FS, job: CompactionJob, cancelled: () => boolean): Promise<TableJobResult> {
  // reads here go through TableCursor's read-ahead, never the cache: a token one keeps the readers happy
  const cache = new BlockCache(64 * 1024);
  const readers: SstableReader[] = [];
  try {
    for (let i = 0; i < job.inputs.length; i++) {
      try {
        readers.push(await SstableReader.open(fs, job.inputs[i].path, job.inputs[i].fileName, cache));
      } catch (err) {
        throw tagInput(err, i);
      }
    }
    let failedInput = -1;
    return await writeOutput(fs, job.path, { ...job.table, rateLimiter: new RateLimiter(job.rateBytesPerSec) }, async (writer) => {
      const cursors: TableCursor[] = [];
      for (let i = 0; i < readers.length; i++) {
        try {
          cursors.push(await TableCursor.open(readers[i], undefined));
        } catch (err) {
          throw tagInput(err, i);
        }
      }
      const merge = MergeCursor.create(cursors, (index, err) => {
        failedInput = index;
        throw err;
      });
      let dropped = 0;
      const dropAtOrBefore = job.dropTombstonesAtOrBeforeMs;
      try {
        for (let n = 0; merge.valid; n++) {
          if ((n & 1023) === 0 && cancelled()) throw new JobCancelledError();
          const top = merge.top;
          let p: Promise<void> | undefined;
          if (top.isTombstone) {
            const ts = top.tombstoneTsMs;
            if (dropAtOrBefore !== undefined && ts <= dropAtOrBefore) dropped++;
            else p = writer.addTombstone(merge.key, ts);
          } else p = writer.addPut(merge.key, top.valueView());
          if (p !== undefined) await p;
          await merge.next();
        }
      } catch (err) {
        throw failedInput >= 0 ? tagInput(err, failedInput) : err;
      }
      return dropped;
    });
  } finally {
    for (const r of readers) r.unref();
  }
}

/** Marks a corrupt-table error with the input it came from, so the engine can quarantine that table. */
function tagInput(err: unknown, input: number): unknown {
  if (err instanceof CorruptTableError) (err as CorruptTableError & { input?: number }).input = input;
  return err;
}
