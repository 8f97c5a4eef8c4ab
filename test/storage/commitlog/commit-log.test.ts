import test from 'node:test';
import assert from 'node:assert/strict';
import { CommitLog, CommitLogCorruptError } from '../../../src/storage/commitlog/commit-log.js';
import type { CommitLogOptions } from '../../../src/storage/commitlog/commit-log.js';
import { encodeRecord } from '../../../src/storage/commitlog/record-format.js';
import { segmentFileName } from '../../../src/storage/commitlog/segment-name.js';
import { SimFS } from '../../../src/storage/fs/sim-fs.js';
import { makeFsError } from '../../../src/storage/fs/fs.js';
import { bytes, capturingLogger, failureOf, openAndCollect, overrideHandles } from './helpers.js';
import { concat } from '../storage-test-kit.js';

const DIR = '/data/commitlog';
const batch: CommitLogOptions = { dir: DIR, syncMode: 'batch' };
const seg = (id: number): string => `${DIR}/${segmentFileName(id)}`;

async function writeSegment(fs: SimFS, id: number, data: Uint8Array): Promise<void> {
  await fs.mkdirp(DIR);
  const h = await fs.openAppend(seg(id));
  await h.append(data);
  await h.sync();
  await h.close();
  await fs.syncDir(DIR);
}

test('commit log: records round-trip across reopen, with their segment ids', async () => {
  const fs = new SimFS();
  const first = await openAndCollect(fs, batch);
  assert.deepEqual(first.records, []);
  assert.equal(first.log.activeSegmentId, 1);
  for (let i = 0; i < 10; i++) await first.log.append(bytes(`r${i}`));
  await first.log.append(new Uint8Array(0)); // empty records are legal
  await first.log.close();
  assert.equal(await failureOf(first.log.append(bytes('late'))), 'commit log is closed');

  const second = await openAndCollect(fs, batch);
  assert.deepEqual(second.records, [...Array.from({ length: 10 }, (_, i) => `r${i}`), '']);
  assert.ok(second.segmentIds.every((id) => id === 1));
  assert.equal(second.log.activeSegmentId, 2, 'appends never go to a replayed segment');
  await second.log.append(bytes('after'));
  fs.crash(); // batch mode: everything acknowledged is durable
  const third = await openAndCollect(fs, batch);
  assert.deepEqual(third.records.slice(-2), ['', 'after']);
  assert.deepEqual(third.log.recovery, { segmentsReplayed: 2, recordsReplayed: 12, tailsCut: 0, corruptRegionsSkipped: 0 });
  await third.log.close();
});

test('commit log: group commit — appends queued behind an fsync share the next one', async () => {
  const fs = new SimFS();
  const { log } = await openAndCollect(fs, batch);
  const syncsBefore = fs.counters.syncs;
  const appendsBefore = fs.counters.appends;
  const firstAppend = log.append(bytes('first'));
  // Let the first group reach the disk, then queue 100 appends while its fsync is in flight.
  await new Promise((r) => setImmediate(r));
  const rest = Array.from({ length: 100 }, (_, i) => log.append(bytes(`queued-${i}`)));
  await Promise.all([firstAppend, ...rest]);
  assert.equal(fs.counters.syncs - syncsBefore, 2, 'one fsync for the first append, one for the 100 queued');
  assert.equal(fs.counters.appends - appendsBefore, 2, 'the queued records are written as one append');
  assert.equal(log.stats().appends, 101);

  // 64 appenders issuing in the same tick share one write and one fsync.
  const s = fs.counters.syncs;
  await Promise.all(Array.from({ length: 64 }, (_, i) => log.append(bytes(`c${i}`))));
  assert.equal(fs.counters.syncs - s, 1);
  await log.close();
  const reopened = await openAndCollect(fs, batch);
  assert.equal(reopened.records.length, 165);
  assert.deepEqual(reopened.records.slice(0, 3), ['first', 'queued-0', 'queued-1']);
  await reopened.log.close();
});

test('commit log: a torn tail at every byte offset of the last record is cut, earlier records kept', async () => {
  const payloads = ['one', 'two', 'three-with-more-bytes'];
  const frames = payloads.map((p) => encodeRecord(bytes(p)));
  const full = concat(frames);
  const lastStart = full.length - frames[2].length;
  for (let cutAt = lastStart; cutAt < full.length; cutAt++) {
    const fs = new SimFS();
    await writeSegment(fs, 1, full.subarray(0, cutAt));
    const logger = capturingLogger();
    const r = await openAndCollect(fs, { ...batch, logger });
    assert.deepEqual(r.records, payloads.slice(0, 2), `cut at ${cutAt}`);
    const expectCut = cutAt > lastStart;
    assert.equal(r.log.recovery.tailsCut, expectCut ? 1 : 0, `cut at ${cutAt}`);
    assert.equal(logger.warnings.length, expectCut ? 1 : 0);
    assert.equal(fs.inspect(seg(1))?.length, lastStart, 'tail truncated so the next start-up is clean');
    assert.equal(fs.inspect(seg(1))?.durableLength, lastStart);
    await r.log.append(bytes('next'));
    await r.log.close();
    const again = await openAndCollect(fs, { ...batch, logger: capturingLogger() });
    assert.deepEqual(again.records, [...payloads.slice(0, 2), 'next']);
    assert.equal(again.log.recovery.tailsCut, 0);
    await again.log.close();
  }
});

test('commit log: a flipped bit mid-segment stops start-up naming file and offset; skipCorrupt skips it', async () => {
  const fs = new SimFS();
  const { log } = await openAndCollect(fs, batch);
  for (let i = 0; i < 5; i++) await log.append(bytes(`record-${i}`));
  await log.close();
  const frameBytes = encodeRecord(bytes('record-0')).length;
  fs.flipBit(seg(1), 2 * frameBytes + 14, 3); // inside the payload of record-2

  const err = await CommitLog.open(fs, batch, () => {}).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof CommitLogCorruptError);
  assert.equal(err.file, seg(1));
  assert.equal(err.offset, 2 * frameBytes);
  assert.match(err.message, new RegExp(`${segmentFileName(1)} at byte offset ${2 * frameBytes}`));
  assert.match(err.message, /--skip-corrupt-commitlog/);
  assert.match(err.message, /--skip-corrupt-commitlog/);
  assert.equal(err.code, 'STORAGE_CORRUPT');

  const logger = capturingLogger();
  const skipped = await openAndCollect(fs, { ...batch, skipCorrupt: true, logger });
  assert.deepEqual(skipped.records, ['record-0', 'record-1', 'record-3', 'record-4']);
  assert.equal(skipped.log.recovery.corruptRegionsSkipped, 1);
  assert.ok(logger.warnings.some((w) => (w.obj as { offset?: number }).offset === 2 * frameBytes));
  await skipped.log.close();
});

test('commit log: a flipped header bit mid-segment is caught too (the length is never trusted blindly)', async () => {
  const fs = new SimFS();
  const frames = ['a', 'b', 'c', 'd'].map((p) => encodeRecord(bytes(p.repeat(20))));
  await writeSegment(fs, 1, concat(frames));
  fs.flipBit(seg(1), frames[0].length + 2, 7); // high bit of record b's length: would claim ~8 MiB
  const err = await CommitLog.open(fs, batch, () => {}).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof CommitLogCorruptError);
  assert.equal(err.offset, frames[0].length);
  const skipped = await openAndCollect(fs, { ...batch, skipCorrupt: true });
  assert.deepEqual(skipped.records, ['a', 'c', 'd'].map((p) => p.repeat(20)));
  await skipped.log.close();
});

test('commit log: corrupt tail of a non-last segment throws; a torn tail there is tolerated', async () => {
  const frames = ['x', 'y', 'z'].map((p) => encodeRecord(bytes(p)));
  const full = concat(frames);

  const corrupt = new SimFS();
  await writeSegment(corrupt, 1, full);
  await writeSegment(corrupt, 2, encodeRecord(bytes('later')));
  corrupt.flipBit(seg(1), full.length - 1, 0); // last byte of z's payload: complete record, bad checksum
  const err = await CommitLog.open(corrupt, batch, () => {}).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof CommitLogCorruptError);
  assert.equal(err.file, seg(1));
  assert.equal(err.offset, full.length - frames[2].length);
  const skipped = await openAndCollect(corrupt, { ...batch, skipCorrupt: true });
  assert.deepEqual(skipped.records, ['x', 'y', 'later']);
  await skipped.log.close();

  const torn = new SimFS();
  await writeSegment(torn, 1, full.subarray(0, full.length - 2));
  await writeSegment(torn, 2, encodeRecord(bytes('later')));
  const logger = capturingLogger();
  const r = await openAndCollect(torn, { ...batch, logger });
  assert.deepEqual(r.records, ['x', 'y', 'later']);
  assert.equal(r.log.recovery.tailsCut, 1);
  await r.log.close();
});

test('commit log: corrupt last record of the last segment is cut with a warning', async () => {
  const fs = new SimFS();
  const frames = ['x', 'y'].map((p) => encodeRecord(bytes(p)));
  await writeSegment(fs, 1, concat(frames));
  fs.flipBit(seg(1), frames[0].length + frames[1].length - 1, 0);
  const logger = capturingLogger();
  const r = await openAndCollect(fs, { ...batch, logger });
  assert.deepEqual(r.records, ['x']);
  assert.equal(r.log.recovery.tailsCut, 1);
  assert.ok(logger.warnings.some((w) => (w.obj as { tail?: string }).tail === 'corrupt'));
  await r.log.close();
  const again = await openAndCollect(fs, batch);
  assert.deepEqual(again.records, ['x']);
  await again.log.close();
});

test('commit log: segments roll by size; rotate() and releaseUpTo() delete flushed segments durably', async () => {
  const fs = new SimFS();
  const { log } = await openAndCollect(fs, { ...batch, segmentSizeBytes: 100 });
  for (let i = 0; i < 20; i++) await log.append(bytes(`record-${String(i).padStart(3, '0')}`)); // 22-byte frames
  const files = await fs.list(DIR);
  assert.ok(files.length >= 5, `expected several segments, got ${files.join(',')}`);
  for (const name of files) assert.ok((fs.inspect(`${DIR}/${name}`)?.length ?? 0) <= 100);

  const before = log.append(bytes('before-rotate'));
  const closedId = log.rotate();
  const after = log.append(bytes('after-rotate'));
  const [, id] = await Promise.all([before, closedId, after]);
  assert.equal(log.activeSegmentId, id + 1);

  await log.releaseUpTo(id);
  assert.deepEqual(await fs.list(DIR), [segmentFileName(id + 1)]);
  fs.crash(); // the deletions were made durable
  assert.deepEqual(await fs.list(DIR), [segmentFileName(id + 1)]);

  const r = await openAndCollect(fs, batch);
  assert.deepEqual(r.records, ['after-rotate']);
  assert.deepEqual(r.segmentIds, [id + 1]);
  await r.log.close();
});

test('commit log: appends issued before rotate() land in segments <= its id, later ones after', async () => {
  const fs = new SimFS();
  const { log } = await openAndCollect(fs, batch);
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < 10; i++) pending.push(log.append(bytes(`old-${i}`)));
  const rotated = log.rotate();
  for (let i = 0; i < 10; i++) pending.push(log.append(bytes(`new-${i}`)));
  const closedId = await rotated;
  await Promise.all(pending);
  await log.close();
  const r = await openAndCollect(fs, batch);
  r.records.forEach((rec, i) => {
    if (rec.startsWith('old-')) assert.ok(r.segmentIds[i] <= closedId, rec);
    else assert.ok(r.segmentIds[i] > closedId, rec);
  });
  assert.equal(r.records.length, 20);
  await r.log.close();
});

test('commit log: releaseUpTo never deletes the active segment', async () => {
  const fs = new SimFS();
  const logger = capturingLogger();
  const { log } = await openAndCollect(fs, { ...batch, logger });
  await log.append(bytes('keep me'));
  await log.releaseUpTo(1_000);
  assert.deepEqual(await fs.list(DIR), [segmentFileName(1)]);
  assert.equal(logger.warnings.length, 1);
  await log.close();
  const r = await openAndCollect(fs, batch);
  assert.deepEqual(r.records, ['keep me']);
  await r.log.close();
});

test('commit log: ENOSPC rejects that append; appends succeed again once space is back', async () => {
  const fs = new SimFS();
  const { log } = await openAndCollect(fs, batch);
  await log.append(bytes('before'));
  fs.setFull(true);
  assert.equal(await failureOf(log.append(bytes('no-space-1'))), 'ENOSPC');
  assert.equal(await failureOf(log.append(bytes('no-space-2'))), 'ENOSPC');
  fs.setFull(false);
  await log.append(bytes('after'));
  assert.equal(log.activeSegmentId, 1, 'nothing partial was written, so the segment stays in use');
  assert.equal(log.stats().appendErrors, 2);
  fs.crash();
  const r = await openAndCollect(fs, batch);
  assert.deepEqual(r.records, ['before', 'after']);
  await r.log.close();
});

test('commit log: a partial write abandons the segment; its torn tail is tolerated on replay', async () => {
  const sim = new SimFS();
  let tearNextAppend = false;
  // A disk that, like a real one running out of space, can keep half of a failed write.
  const fs = overrideHandles(sim, (h, path) => ({
    async append(data: Uint8Array) {
      if (!tearNextAppend) return h.append(data);
      tearNextAppend = false;
      await h.append(data.subarray(0, Math.floor(data.length / 2)));
      throw makeFsError('ENOSPC', 'write', path);
    },
  }));
  const { log } = await CommitLog.open(fs, batch, () => {}).then((l) => ({ log: l }));
  await log.append(bytes('kept-1'));
  tearNextAppend = true;
  assert.equal(await failureOf(log.append(bytes('torn-half'))), 'ENOSPC');
  await log.append(bytes('kept-2'));
  assert.equal(log.activeSegmentId, 2, 'rolled away from the segment holding a partial record');
  await log.close();
  const logger = capturingLogger();
  const r = await openAndCollect(sim, { ...batch, logger });
  assert.deepEqual(r.records, ['kept-1', 'kept-2']);
  assert.equal(r.log.recovery.tailsCut, 1);
  await r.log.close();
});

test('commit log: a failed fsync rejects every append waiting on it and is never retried', async () => {
  const fs = new SimFS();
  const logger = capturingLogger();
  const { log } = await openAndCollect(fs, { ...batch, logger });
  await log.append(bytes('durable'));
  fs.failNext('sync', 'EIO');
  const waiting = Array.from({ length: 5 }, (_, i) => log.append(bytes(`waiting-${i}`)));
  const outcomes = await Promise.all(waiting.map(failureOf));
  assert.deepEqual(outcomes, Array(5).fill('EIO'));
  assert.equal(log.stats().syncErrors, 1);
  const syncsBefore = fs.counters.syncs;
  await log.append(bytes('later'));
  assert.equal(log.activeSegmentId, 2, 'after an fsync error the log rolls to a new segment');
  assert.equal(fs.inspect(seg(1))?.durableLength, fs.inspect(seg(1))!.length - 5 * encodeRecord(bytes('waiting-0')).length,
    'the failed segment is never fsynced again');
  assert.equal(fs.counters.syncs - syncsBefore, 1, 'only the new segment was fsynced');
  fs.crash();
  const r = await openAndCollect(fs, batch);
  assert.deepEqual(r.records, ['durable', 'later']);
  await r.log.close();
});

test('commit log: a failed directory fsync keeps a new segment out of use', async () => {
  const fs = new SimFS();
  const { log } = await openAndCollect(fs, batch);
  await log.append(bytes('a'));
  fs.failNext('syncDir', 'EIO');
  assert.equal(await failureOf(log.rotate()), 'EIO');
  assert.equal(log.activeSegmentId, 1, 'the healthy old segment stays active');
  await log.append(bytes('b'));
  assert.equal(await log.rotate(), 1);
  assert.equal(log.activeSegmentId, 3, 'id 2 is burnt, never reused');
  await log.append(bytes('c'));
  fs.crash();
  const r = await openAndCollect(fs, batch);
  assert.deepEqual(r.records, ['a', 'b', 'c']);
  await r.log.close();
});

test('commit log: open fails cleanly when the first segment cannot be created', async () => {
  const fs = new SimFS();
  fs.failNext('openAppend', 'ENOSPC');
  assert.equal(await failureOf(CommitLog.open(fs, batch, () => {})), 'ENOSPC');
  const r = await openAndCollect(fs, batch);
  assert.equal(r.log.activeSegmentId, 1);
  await r.log.close();
});

test('commit log: periodic mode acknowledges after the write and fsyncs on the timer', async () => {
  const fs = new SimFS();
  let tick: (() => void) | undefined;
  let stopped = false;
  const opts: CommitLogOptions = {
    dir: DIR,
    syncMode: 'periodic',
    periodicSyncMs: 10,
    syncScheduler: (fn, ms) => {
      assert.equal(ms, 10);
      tick = fn;
      return () => {
        stopped = true;
      };
    },
  };
  const { log } = await openAndCollect(fs, opts);
  const syncsBefore = fs.counters.syncs;
  await Promise.all([log.append(bytes('p1')), log.append(bytes('p2'))]);
  assert.equal(fs.counters.syncs, syncsBefore, 'periodic appends do not wait for an fsync');
  tick!();
  await new Promise((r) => setImmediate(r));
  assert.equal(fs.counters.syncs, syncsBefore + 1);
  tick!(); // nothing new written: no fsync
  await new Promise((r) => setImmediate(r));
  assert.equal(fs.counters.syncs, syncsBefore + 1);
  await log.append(bytes('p3-unsynced'));
  fs.crash();
  const r = await openAndCollect(fs, batch);
  assert.deepEqual(r.records, ['p1', 'p2'], 'a crash loses what the timer had not fsynced yet');
  await r.log.close();
  await log.close().catch(() => undefined);
  assert.ok(stopped, 'close stops the timer');
});

test('commit log: periodic mode sync() and close() make everything durable', async () => {
  const fs = new SimFS();
  const opts: CommitLogOptions = { dir: DIR, syncMode: 'periodic', syncScheduler: () => () => {} };
  const { log } = await openAndCollect(fs, opts);
  await log.append(bytes('s1'));
  await log.sync();
  await log.append(bytes('s2'));
  await log.close();
  fs.crash();
  const r = await openAndCollect(fs, opts);
  assert.deepEqual(r.records, ['s1', 's2']);
  await r.log.close();
});

test('commit log: periodic mode with the real timer fsyncs on its own', async () => {
  const fs = new SimFS();
  const { log } = await openAndCollect(fs, { dir: DIR, syncMode: 'periodic', periodicSyncMs: 5 });
  await log.append(bytes('timer'));
  const deadline = Date.now() + 5_000;
  while (fs.inspect(seg(1))!.durableLength === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(fs.inspect(seg(1))!.durableLength > 0);
  await log.close();
});

test('commit log: periodic appends are written while the timer fsync is in flight; sync() waits for it', async () => {
  const sim = new SimFS();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let hold = false;
  let syncsStarted = 0;
  // A disk whose fsyncs can be held.
  const fs = overrideHandles(sim, (h) => ({
    async sync() {
      syncsStarted++;
      if (hold) await gate;
      await h.sync();
    },
  }));
  let tick: () => void = () => {};
  const { log } = await openAndCollect(fs, { dir: DIR, syncMode: 'periodic', syncScheduler: (fn) => ((tick = fn), () => {}) });
  await log.append(bytes('a'));
  hold = true;
  const started = syncsStarted;
  tick();
  const turns = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };
  await turns(3);
  assert.equal(syncsStarted, started + 1, 'the timer fsync is in flight');
  let written = false;
  const b = log.append(bytes('b')).then(() => (written = true));
  await turns(10);
  assert.ok(written, 'the append did not wait for the fsync');
  let synced = false;
  const explicit = log.sync().then(() => (synced = true));
  await turns(10);
  assert.equal(synced, false, 'sync() waits for the fsync in flight');
  release();
  await Promise.all([b, explicit]);
  assert.equal(syncsStarted, started + 2, 'then fsyncs again: the timer fsync did not cover the later append');
  sim.crash();
  const r = await openAndCollect(sim, batch);
  assert.deepEqual(r.records, ['a', 'b']);
  await r.log.close();
  await log.close().catch(() => undefined);
});

test('commit log: a failed periodic fsync is logged and the log moves to a new segment', async () => {
  const fs = new SimFS();
  let tick: () => void = () => {};
  const logger = capturingLogger();
  const { log } = await openAndCollect(fs, { dir: DIR, syncMode: 'periodic', logger, syncScheduler: (fn) => ((tick = fn), () => {}) });
  await log.append(bytes('maybe-lost'));
  fs.failNext('sync', 'EIO');
  tick();
  await new Promise((r) => setImmediate(r));
  assert.equal(log.stats().syncErrors, 1);
  assert.ok(logger.warnings.some((w) => /fsync failed/.test(w.msg ?? '')));
  await log.append(bytes('fresh'));
  assert.equal(log.activeSegmentId, 2);
  // From now on sync() cannot claim that everything acknowledged is durable: it keeps rejecting
  // (after fsyncing what it can), and so does close().
  const lostWrites = (err: Error): boolean => (err as { code?: string }).code === 'EIO' && /acknowledged/.test(err.message);
  await assert.rejects(log.sync(), lostWrites);
  await assert.rejects(log.sync(), lostWrites);
  fs.crash();
  const r = await openAndCollect(fs, batch);
  assert.deepEqual(r.records, ['fresh']);
  await r.log.close();
});

test('commit log: empty segments left by restarts are removed; ids keep growing', async () => {
  const fs = new SimFS();
  for (let i = 0; i < 3; i++) {
    const r = await openAndCollect(fs, batch);
    await r.log.close();
  }
  assert.deepEqual(await fs.list(DIR), [segmentFileName(3)]);
  const r = await openAndCollect(fs, batch);
  assert.equal(r.log.activeSegmentId, 4);
  await r.log.close();
});

test('commit log: options are validated and oversized records refused', async () => {
  const fs = new SimFS();
  await assert.rejects(CommitLog.open(fs, { dir: DIR, syncMode: 'sometimes' as never }, () => {}), /syncMode/);
  await assert.rejects(CommitLog.open(fs, { ...batch, segmentSizeBytes: 0 }, () => {}), /segmentSizeBytes/);
  const { log } = await openAndCollect(fs, batch);
  await assert.rejects(log.append(new Uint8Array(64 * 1024 * 1024 + 1)), RangeError);
  await log.close();
});

test('commit log: periodic appends on a handle that writes synchronously land before append() returns; a failed one changes nothing', async () => {
  const fs = new SimFS({ syncAppends: true });
  const opts: CommitLogOptions = { dir: DIR, syncMode: 'periodic', syncScheduler: () => () => {} };
  const { log } = await openAndCollect(fs, opts);
  const path = `${DIR}/${(await fs.list(DIR))[0]}`;
  const before = fs.inspect(path)!.length;
  const first = log.append(bytes('s1'));
  assert.ok(fs.inspect(path)!.length > before, 'written synchronously, inside append()');
  await first;
  fs.setFull(true);
  assert.equal(await failureOf(log.append(bytes('no-space'))), 'ENOSPC');
  fs.setFull(false);
  // a rotation in flight queues appends behind it: they go to the next segment, asynchronously
  const rotated = log.rotate();
  const queued = log.append(bytes('s2'));
  assert.equal(await rotated, 1);
  await queued;
  await log.append(bytes('s3'));
  assert.equal(log.stats().appendErrors, 1);
  await log.sync();
  fs.crash();
  const r = await openAndCollect(fs, opts);
  assert.deepEqual(r.records, ['s1', 's2', 's3']);
  assert.deepEqual(r.segmentIds, [1, 2, 2]);
  await r.log.close();
  await log.close().catch(() => undefined);
});
