import test from 'node:test';
import assert from 'node:assert/strict';
import type { CommitLogOptions } from '../../../src/storage/commitlog/commit-log.js';
import { SimFS } from '../../../src/storage/fs/sim-fs.js';
import type { SimFsFaultOp } from '../../../src/storage/fs/sim-fs.js';
import { makeFsError } from '../../../src/storage/fs/fs.js';
import { bytes, openAndCollect, seededRandom } from './helpers.js';

/**
 * Crash at a random point under concurrent appends, with random I/O faults, then recover:
 * - batch mode: every append that resolved is present, in order per writer, nothing corrupt or
 *   duplicated comes back, and the recovered log takes appends and recovers again;
 * - periodic mode: every append that resolved before a successful sync() is present.
 * Seeds: CRASH_SEEDS=<count> for more, CRASH_SEED=<n> to replay one.
 */
const DIR = '/node/commitlog';
const seedCount = Number(process.env.CRASH_SEEDS ?? 200);
const onlySeed = process.env.CRASH_SEED === undefined ? undefined : Number(process.env.CRASH_SEED);
const seeds = onlySeed !== undefined ? [onlySeed] : Array.from({ length: seedCount }, (_, i) => i + 1);
const replayHint = (seed: number): string => `replay: CRASH_SEED=${seed} npx tsx --test test/storage/commitlog/commit-log-crash.test.ts`;

interface RunResult {
  acked: Set<string>;
  /** periodic mode: records acknowledged before a sync() that succeeded */
  synced: Set<string>;
  issued: Set<string>;
}

async function runUntilCrash(fs: SimFS, seed: number, opts: CommitLogOptions): Promise<RunResult> {
  const rand = seededRandom(seed);
  const { log } = await openAndCollect(fs, opts);
  const crashAtOp = 5 + Math.floor(rand() * 250);
  let ops = 0;
  let crashed = false;
  fs.onOp = () => {
    // The process is dead after the crash: nothing it still has in flight may touch the disk.
    if (crashed) throw makeFsError('EIO', 'dead', 'process crashed');
    if (++ops === crashAtOp) {
      crashed = true;
      fs.crash({ tearLastWrite: true, random: rand });
      throw makeFsError('EIO', 'dead', 'process crashed');
    }
    if (rand() < 0.03) {
      const faults: SimFsFaultOp[] = ['append', 'sync', 'syncDir', 'openAppend'];
      fs.failNext(faults[Math.floor(rand() * faults.length)], rand() < 0.5 ? 'EIO' : 'ENOSPC');
    }
  };
  const result: RunResult = { acked: new Set(), synced: new Set(), issued: new Set() };
  const writers = 1 + Math.floor(rand() * 8);
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; i < 40 && !crashed; i++) {
      const rec = `w${w}-${i}-${'x'.repeat(Math.floor(rand() * 40))}`;
      result.issued.add(rec);
      try {
        await log.append(bytes(rec));
        result.acked.add(rec);
      } catch {
        // rejected: never acknowledged, may or may not survive
      }
      if (rand() < 0.05) await log.rotate().catch(() => undefined);
      if (opts.syncMode === 'periodic' && rand() < 0.1) {
        const covered = [...result.acked];
        try {
          await log.sync();
          for (const r of covered) result.synced.add(r);
        } catch {
          // a failed sync covers nothing
        }
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  if (!crashed) {
    crashed = true;
    fs.crash({ tearLastWrite: true, random: rand });
  }
  await log.close().catch(() => undefined);
  fs.onOp = undefined;
  fs.clearFaults();
  return result;
}

function checkRecovered(records: string[], run: RunResult, mustSurvive: Set<string>, seed: number): void {
  const seen = new Set<string>();
  const lastIndex = new Map<string, number>();
  for (const rec of records) {
    assert.ok(run.issued.has(rec), `seed ${seed}: recovered a record never appended: ${JSON.stringify(rec)}. ${replayHint(seed)}`);
    assert.ok(!seen.has(rec), `seed ${seed}: duplicate ${rec}. ${replayHint(seed)}`);
    seen.add(rec);
    const [w, i] = rec.split('-');
    const prev = lastIndex.get(w) ?? -1;
    assert.ok(Number(i) > prev, `seed ${seed}: writer ${w} out of order at ${rec}. ${replayHint(seed)}`);
    lastIndex.set(w, Number(i));
  }
  for (const rec of mustSurvive) {
    assert.ok(seen.has(rec), `seed ${seed}: acknowledged record lost: ${rec}. ${replayHint(seed)}`);
  }
}

test(`commit log crash (batch): acknowledged appends survive a crash at a random point (${seeds.length} seeds)`, async () => {
  for (const seed of seeds) {
    const fs = new SimFS();
    const opts: CommitLogOptions = { dir: DIR, syncMode: 'batch', segmentSizeBytes: 256 + (seed % 4) * 512 };
    const run = await runUntilCrash(fs, seed, opts);
    const first = await openAndCollect(fs, opts);
    checkRecovered(first.records, run, run.acked, seed);
    // The recovered log works, and a second crash loses nothing that was acknowledged.
    await first.log.append(bytes('w99-0-after'));
    fs.crash({ tearLastWrite: true, random: seededRandom(seed * 31) });
    const second = await openAndCollect(fs, opts);
    assert.deepEqual(second.records, [...first.records, 'w99-0-after'], `seed ${seed}: second recovery differs. ${replayHint(seed)}`);
    assert.equal(second.log.recovery.corruptRegionsSkipped, 0);
    await second.log.close();
  }
});

test(`commit log crash (periodic): appends covered by a successful sync() survive (${Math.ceil(seeds.length / 4)} seeds)`, async () => {
  for (const seed of seeds.slice(0, Math.ceil(seeds.length / 4))) {
    const fs = new SimFS();
    const opts: CommitLogOptions = { dir: DIR, syncMode: 'periodic', segmentSizeBytes: 512, syncScheduler: () => () => {} };
    const run = await runUntilCrash(fs, seed, opts);
    const r = await openAndCollect(fs, opts);
    checkRecovered(r.records, run, run.synced, seed);
    await r.log.close();
  }
});

test(`commit log crash (periodic, synchronous appends): appends covered by a successful sync() survive (${Math.ceil(seeds.length / 4)} seeds)`, async () => {
  for (const seed of seeds.slice(0, Math.ceil(seeds.length / 4))) {
    const fs = new SimFS({ syncAppends: true });
    const opts: CommitLogOptions = { dir: DIR, syncMode: 'periodic', segmentSizeBytes: 512, syncScheduler: () => () => {} };
    const run = await runUntilCrash(fs, seed, opts);
    const r = await openAndCollect(fs, opts);
    checkRecovered(r.records, run, run.synced, seed);
    await r.log.close();
  }
});
