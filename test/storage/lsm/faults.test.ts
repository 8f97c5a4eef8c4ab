import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { isRingkvError } from '../../../src/core/errors.js';
import { makeFsError } from '../../../src/storage/fs/fs.js';
import { SimFS } from '../../../src/storage/fs/sim-fs.js';
import { LsmEngine } from '../../../src/storage/lsm/lsm-engine.js';
import { readManifest } from '../../../src/storage/lsm/manifest.js';
import { PreadNodeFS } from '../../../src/storage/lsm/pread-fs.js';
import { waitFor } from '../../helpers/wait.js';
import { collect, crashEngine, DIR, seededRandom, smallOptions } from './helpers.js';

const key = (i: number): Buffer => Buffer.from(`key-${String(i).padStart(5, '0')}`);
const value = (i: number, version = 0): Buffer => Buffer.from(`value-${i}-v${version}-`.padEnd(60, 'x'));
const text = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v).toString());

async function tableFiles(fs: SimFS): Promise<string[]> {
  return (await fs.list(DIR)).filter((n) => n.endsWith('.sst'));
}

test('a flipped bit in a data block: detected, table moved aside, older tables still answer', async () => {
  const fs = new SimFS();
  const engine = await LsmEngine.open(fs, smallOptions({ memtableSizeBytes: 1 << 20, autoCompact: false, blockCacheBytes: 0 }));
  for (let i = 0; i < 50; i++) await engine.put(1, key(i), value(i, 1));
  await engine.flush();
  const [older] = await tableFiles(fs);
  for (let i = 0; i < 50; i++) await engine.put(1, key(i), value(i, 2));
  await engine.flush();
  const newer = (await tableFiles(fs)).find((n) => n !== older)!;
  assert.equal(text(await engine.get(1, key(0))), value(0, 2).toString());

  fs.flipBit(posix.join(DIR, newer), 3, 2); // inside the first data block (key-00000 lives there)
  assert.equal(text(await engine.get(1, key(0))), value(0, 1).toString(), 'the read falls back to the older table');
  assert.equal(engine.stats().corruptTables, 1);
  const names = await waitFor('the corrupt table moved aside', async () => {
    const list = await fs.list(DIR);
    return list.includes(`${newer}.corrupt`) && list;
  });
  assert.ok(!names.includes(newer));
  assert.deepEqual((await readManifest(fs, DIR))?.tables, [older]);
  // everything else is still served, from the remaining table
  for (let i = 0; i < 50; i++) assert.equal(text(await engine.get(1, key(i))), value(i, 1).toString());
  assert.equal((await collect(engine, 0, 10)).length, 50);
  await engine.close();

  const reopened = await LsmEngine.open(fs, smallOptions());
  assert.equal(text(await reopened.get(1, key(7))), value(7, 1).toString());
  await reopened.close();
});

test('a flipped bit found by a scan: the scan goes on with the other tables', async () => {
  const fs = new SimFS();
  const engine = await LsmEngine.open(fs, smallOptions({ memtableSizeBytes: 1 << 20, autoCompact: false }));
  for (let i = 0; i < 40; i++) await engine.put(2, key(i), value(i));
  await engine.flush();
  for (let i = 40; i < 80; i++) await engine.put(2, key(i), value(i));
  await engine.flush();
  const files = await tableFiles(fs);
  const size = fs.inspect(posix.join(DIR, files[0]))!.length;
  fs.flipBit(posix.join(DIR, files[0]), 100, 0);
  const seen = await collect(engine, 0, 10);
  assert.ok(seen.length >= 40 && seen.length < 80, `scan returned ${seen.length} entries (table of ${size} bytes lost)`);
  assert.equal(engine.stats().corruptTables, 1);
  await engine.close();
});

test('a flipped bit in a table footer or index is found at open', async () => {
  const fs = new SimFS();
  const engine = await LsmEngine.open(fs, smallOptions({ memtableSizeBytes: 1 << 20, autoCompact: false }));
  for (let i = 0; i < 30; i++) await engine.put(0, key(i), value(i));
  await engine.flush();
  await engine.put(0, key(99), value(99));
  await engine.close();
  const [file] = await tableFiles(fs);
  const size = fs.inspect(posix.join(DIR, file))!.length;
  fs.flipBit(posix.join(DIR, file), size - 10, 4);
  const reopened = await LsmEngine.open(fs, smallOptions());
  assert.equal(reopened.stats().corruptTables, 1);
  assert.equal(text(await reopened.get(0, key(3))), undefined);
  assert.equal(text(await reopened.get(0, key(99))), value(99).toString(), 'the commit log still holds the unflushed write');
  assert.ok((await fs.list(DIR)).includes(`${file}.corrupt`));
  await reopened.close();
});

test('torn commit-log tail (periodic sync): recovery keeps a prefix of the writes', async () => {
  for (let seed = 1; seed <= 10; seed++) {
    const fs = new SimFS();
    const engine = await LsmEngine.open(fs, smallOptions({ syncMode: 'periodic', periodicSyncMs: 1_000_000, memtableSizeBytes: 1 << 20 }));
    for (let i = 0; i < 100; i++) await engine.put(0, key(i), value(i));
    await crashEngine(engine, fs, seededRandom(seed), true);
    const reopened = await LsmEngine.open(fs, smallOptions({ syncMode: 'periodic' }));
    let present = 0;
    while (present < 100 && (await reopened.get(0, key(present))) !== undefined) present++;
    for (let i = 0; i < 100; i++) {
      const got = text(await reopened.get(0, key(i)));
      if (i < present) assert.equal(got, value(i).toString());
      else assert.equal(got, undefined, `seed ${seed}: key ${i} present after a gap at ${present}`);
    }
    await reopened.close();
  }
});

test('ENOSPC: the put rejects with STORAGE_FULL, reads go on, writes work again once space returns', async () => {
  const fs = new SimFS();
  const engine = await LsmEngine.open(fs, smallOptions({ memtableSizeBytes: 2048 }));
  for (let i = 0; i < 40; i++) await engine.put(0, key(i), value(i));
  fs.setFull(true);
  await assert.rejects(engine.put(0, key(1000), value(1000)), (err: unknown) => isRingkvError(err) && err.code === 'STORAGE_FULL');
  await assert.rejects(engine.delete(0, key(1)), (err: unknown) => isRingkvError(err) && err.code === 'STORAGE_FULL');
  for (let i = 0; i < 40; i++) assert.equal(text(await engine.get(0, key(i))), value(i).toString());
  assert.equal(await engine.get(0, key(1000)), undefined, 'a rejected write is not visible');
  fs.setFull(false);
  for (let i = 40; i < 80; i++) await engine.put(0, key(i), value(i));
  await engine.flush();
  await crashEngine(engine, fs, seededRandom(3));
  const reopened = await LsmEngine.open(fs, smallOptions());
  for (let i = 0; i < 80; i++) assert.equal(text(await reopened.get(0, key(i))), value(i).toString());
  await reopened.close();
});

test('EIO on the commit log rejects the put with STORAGE_IO', async () => {
  const fs = new SimFS();
  const engine = await LsmEngine.open(fs, smallOptions());
  await engine.put(0, key(1), value(1));
  fs.failNext('append', 'EIO');
  await assert.rejects(engine.put(0, key(2), value(2)), (err: unknown) => isRingkvError(err) && err.code === 'STORAGE_IO');
  await engine.put(0, key(3), value(3));
  assert.equal(text(await engine.get(0, key(1))), value(1).toString());
  assert.equal(await engine.get(0, key(2)), undefined);
  assert.equal(text(await engine.get(0, key(3))), value(3).toString());
  await engine.close();
});

test('a failing flush keeps the memtable and retries until it succeeds', async () => {
  const fs = new SimFS();
  let failTables = true;
  fs.onOp = (op, path) => {
    if (failTables && path.endsWith('.sst') && (op === 'append' || op === 'sync')) throw makeFsError('EIO', op, path, 'simulated table write failure');
  };
  const engine = await LsmEngine.open(fs, smallOptions({ memtableSizeBytes: 1 << 20 }));
  for (let i = 0; i < 50; i++) await engine.put(0, key(i), value(i));
  const flushed = engine.flush();
  await waitFor('the flush to fail at least once', () => (engine.stats().flushFailures ?? 0) >= 1);
  for (let i = 0; i < 50; i++) assert.equal(text(await engine.get(0, key(i))), value(i).toString());
  await engine.put(0, key(50), value(50));
  failTables = false;
  await flushed;
  assert.equal(engine.stats().sstables, 1);
  assert.deepEqual(await tableFiles(fs), (await readManifest(fs, DIR))!.tables, 'no partial table left behind');
  await crashEngine(engine, fs, seededRandom(5));
  const reopened = await LsmEngine.open(fs, smallOptions());
  for (let i = 0; i <= 50; i++) assert.equal(text(await reopened.get(0, key(i))), value(i).toString());
  await reopened.close();
});

test('tombstones are dropped only by a compaction that includes the oldest table, after the grace period', async () => {
  const fs = new SimFS();
  let now = 1_000_000;
  const engine = await LsmEngine.open(fs, smallOptions({ memtableSizeBytes: 1 << 20, autoCompact: false, tombstoneGraceMs: 1000, nowMs: () => now }));
  for (let i = 0; i < 20; i++) await engine.put(0, key(i), value(i));
  await engine.flush();
  for (let i = 0; i < 10; i++) await engine.delete(0, key(i));
  await engine.flush();
  await engine.compact();
  assert.equal(engine.stats().tombstonesDropped, 0, 'inside the grace period tombstones stay');
  assert.equal(await engine.get(0, key(3)), undefined);
  now += 1001;
  await engine.compact();
  assert.equal(engine.stats().tombstonesDropped, 10);
  assert.equal(await engine.get(0, key(3)), undefined, 'the deleted value does not resurrect');
  assert.equal((await collect(engine, 0, 1)).length, 10);
  await engine.close();
});

test('sync block reads (PreadNodeFS on a real directory): values served, a flipped bit detected', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringkv-pread-'));
  try {
    const options = { dir, syncMode: 'batch' as const, memtableSizeBytes: 1 << 20, blockSizeBytes: 512, autoCompact: false };
    const engine = await LsmEngine.open(new PreadNodeFS(), options);
    for (let i = 0; i < 200; i++) await engine.put(3, key(i), value(i, 1));
    await engine.flush();
    for (let i = 0; i < 100; i++) await engine.put(3, key(i), value(i, 2));
    await engine.flush();
    await engine.close();
    const [older, newer] = readdirSync(dir).filter((n) => n.endsWith('.sst')).sort();
    const reopened = await LsmEngine.open(new PreadNodeFS(), options);
    for (let i = 0; i < 200; i++) assert.equal(text(await reopened.get(3, key(i))), value(i, i < 100 ? 2 : 1).toString());
    await reopened.close();
    const bytes = readFileSync(join(dir, newer));
    bytes[5] ^= 0x10;
    writeFileSync(join(dir, newer), bytes);
    const third = await LsmEngine.open(new PreadNodeFS(), options);
    assert.equal(text(await third.get(3, key(0))), value(0, 1).toString(), 'falls back to the older table');
    assert.equal(third.stats().corruptTables, 1);
    await waitFor('the corrupt table moved aside', () => readdirSync(dir).includes(`${newer}.corrupt`));
    assert.ok(readdirSync(dir).includes(older));
    await third.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
