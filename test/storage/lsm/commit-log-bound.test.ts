import test from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { SimFS } from '../../../src/storage/fs/sim-fs.js';
import { LsmEngine, type LsmEngineOptions } from '../../../src/storage/lsm/lsm-engine.js';
import { crashEngine, DIR, seededRandom } from './helpers.js';

/**
 * A few large keys rewritten over and over never fill a 64 MiB memtable within the bytes written here
 * (34 MiB), so without the commit-log bound no flush would come and every segment would stay on disk.
 * With a bound of 1 MiB the engine flushes early and releases the segments: the log on disk stays
 * within the bound, one segment and the writes in flight — also across a crash and a restart.
 */
const KEYS = 6;
const VALUE_BYTES = 48 * 1024;
const ROUNDS = 120;
const SEGMENT_BYTES = 256 * 1024;
const BOUND_BYTES = 1024 * 1024;
/**
 * Each writer has one write in flight. They may all have landed in the segments a flush is about to
 * release when the bound trips (one batch), and all be on their way into the new segment when the
 * stall threshold is reached (another).
 */
const IN_FLIGHT_BYTES = 2 * KEYS * (VALUE_BYTES + 1024);
const LIMIT_BYTES = BOUND_BYTES + SEGMENT_BYTES + IN_FLIGHT_BYTES;
const COMMITLOG_DIR = posix.join(DIR, 'commitlog');

const options: LsmEngineOptions = { dir: DIR, syncMode: 'batch', segmentSizeBytes: SEGMENT_BYTES, commitLogMaxTotalBytes: BOUND_BYTES };

function valueOf(key: number, round: number): Buffer {
  const v = Buffer.alloc(VALUE_BYTES, (key * 31 + round) & 0xff);
  v.write(`k${key}:r${round}:`);
  return v;
}

const keyOf = (key: number): Buffer => Buffer.from(`big-${key}`);

/** Bytes of the commit-log segment files on the simulated disk. */
async function commitLogBytesOnDisk(fs: SimFS): Promise<number> {
  let total = 0;
  for (const name of await fs.list(COMMITLOG_DIR)) total += fs.inspect(posix.join(COMMITLOG_DIR, name))?.length ?? 0;
  return total;
}

/**
 * Every key rewritten from `fromRound` on, one writer per key, each write awaited; the log's size is
 * measured after every acknowledgement. `stopAfterAcks` ends the run by a crash once that many writes
 * were acknowledged. Returns the largest size seen and, per key, the last acknowledged round and the
 * round in flight when the crash came.
 */
async function rewrite(
  engine: LsmEngine,
  fs: SimFS,
  fromRound: number,
  stopAfterAcks = Infinity,
): Promise<{ maxLogBytes: number; acked: number[]; inFlight: (number | undefined)[] }> {
  let maxLogBytes = 0;
  let acks = 0;
  let crashed = false;
  const acked = new Array<number>(KEYS).fill(-1);
  const inFlight = new Array<number | undefined>(KEYS).fill(undefined);
  const random = seededRandom(7);
  const writer = async (key: number): Promise<void> => {
    for (let round = fromRound; round < fromRound + ROUNDS && !crashed; round++) {
      inFlight[key] = round;
      try {
        await engine.put(1, keyOf(key), valueOf(key, round));
      } catch (err) {
        if (crashed) return;
        throw err;
      }
      if (crashed) return; // resolved around the crash: not counted as acknowledged
      acked[key] = round;
      inFlight[key] = undefined;
      maxLogBytes = Math.max(maxLogBytes, await commitLogBytesOnDisk(fs));
      if (++acks === stopAfterAcks) {
        crashed = true;
        await crashEngine(engine, fs, random);
      }
    }
  };
  await Promise.all(Array.from({ length: KEYS }, (_, key) => writer(key)));
  return { maxLogBytes, acked, inFlight };
}

test('rewriting a few large keys: the commit log on disk stays within its bound, and the values read back', async () => {
  const fs = new SimFS();
  const engine = await LsmEngine.open(fs, options);
  const { maxLogBytes, acked } = await rewrite(engine, fs, 0);
  assert.ok(maxLogBytes <= LIMIT_BYTES, `commit log reached ${maxLogBytes} bytes on disk, over ${LIMIT_BYTES} (bound ${BOUND_BYTES} + a segment + the writes in flight)`);
  const stats = engine.stats();
  assert.ok(stats.commitLogBoundFlushes! > 0, 'the bound flushed memtables that were not full');
  await engine.idle();
  assert.equal(engine.stats().commitLogBytes, await commitLogBytesOnDisk(fs), 'commitLogBytes is what the segment files hold');
  for (let key = 0; key < KEYS; key++) {
    assert.equal(acked[key], ROUNDS - 1);
    assert.ok(valueOf(key, ROUNDS - 1).equals(Buffer.from((await engine.get(1, keyOf(key)))!)), `big-${key} holds its last write`);
  }
  await engine.close();
});

test('a crash while the commit-log bound flushes loses no acknowledged write, and the log stays bounded after the restart', async () => {
  const fs = new SimFS();
  let engine = await LsmEngine.open(fs, options);
  // enough acknowledged rewrites (about 11 MiB) for several flushes made by the bound before the crash
  const before = await rewrite(engine, fs, 0, 230);
  assert.ok(before.maxLogBytes <= LIMIT_BYTES, `commit log reached ${before.maxLogBytes} bytes before the crash`);
  engine = await LsmEngine.open(fs, options);
  for (let key = 0; key < KEYS; key++) {
    const got = Buffer.from((await engine.get(1, keyOf(key)))!);
    const allowed = [before.acked[key], before.inFlight[key]].filter((r): r is number => r !== undefined && r >= 0);
    assert.ok(allowed.some((round) => valueOf(key, round).equals(got)), `big-${key} holds round ${got.subarray(0, 12).toString()}, allowed rounds ${allowed.join(', ')}`);
  }
  const after = await rewrite(engine, fs, ROUNDS);
  assert.ok(after.maxLogBytes <= LIMIT_BYTES, `commit log reached ${after.maxLogBytes} bytes after the restart`);
  for (let key = 0; key < KEYS; key++) assert.ok(valueOf(key, 2 * ROUNDS - 1).equals(Buffer.from((await engine.get(1, keyOf(key)))!)));
  await engine.close();
});

test('commitLogMaxTotalBytes below the segment size is refused', async () => {
  await assert.rejects(LsmEngine.open(new SimFS(), { ...options, commitLogMaxTotalBytes: SEGMENT_BYTES - 1 }), RangeError);
});
