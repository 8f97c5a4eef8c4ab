import test from 'node:test';
import assert from 'node:assert/strict';
import type { FileHandle, FS } from '../../../src/storage/fs/fs.js';
import { SimFS } from '../../../src/storage/fs/sim-fs.js';
import { makeFsError } from '../../../src/storage/fs/fs.js';
import { isRingkvError } from '../../../src/core/errors.js';
import { LsmEngine } from '../../../src/storage/lsm/lsm-engine.js';
import { waitFor } from '../../helpers/wait.js';
import { smallOptions } from './helpers.js';

/**
 * Write stalls: when flushes fall behind, writes wait instead of letting frozen memtables pile up,
 * so memtable memory stays bounded however fast writes arrive.
 */

/** An FS whose table-file appends wait while the gate is closed: flushes take as long as we say. */
class GatedFS implements FS {
  private opened: Promise<void> = Promise.resolve();
  private openGate: () => void = () => {};

  constructor(private readonly inner: FS) {}

  close(): void {
    this.opened = new Promise((resolve) => (this.openGate = resolve));
  }

  open(): void {
    this.openGate();
  }

  async openAppend(path: string): Promise<FileHandle> {
    const h = await this.inner.openAppend(path);
    if (!path.endsWith('.sst')) return h;
    const gated = (): Promise<void> => this.opened;
    return {
      path: h.path,
      async append(data: Uint8Array) {
        await gated();
        return h.append(data);
      },
      read: (p, l) => h.read(p, l),
      size: () => h.size(),
      sync: () => h.sync(),
      close: () => h.close(),
    };
  }

  openRead(path: string): Promise<FileHandle> {
    return this.inner.openRead(path);
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.inner.readFile(path);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }
  mkdirp(dir: string): Promise<void> {
    return this.inner.mkdirp(dir);
  }
  syncDir(dir: string): Promise<void> {
    return this.inner.syncDir(dir);
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  truncate(path: string, lengthBytes: number): Promise<void> {
    return this.inner.truncate(path, lengthBytes);
  }
}

const key = (i: number): Buffer => Buffer.from(`key-${String(i).padStart(6, '0')}`);
const value = (i: number): Buffer => Buffer.from(`value-${i}-`.padEnd(100, 'v'));

for (const tableWorker of [true, false]) {
  test(`flushes held up: writes stall, memtable memory stays within (1 + maxImmutableMemtables) memtables, then everything lands (${tableWorker ? 'worker' : 'in-line'})`, async () => {
    const fs = new GatedFS(new SimFS());
    const memtableSizeBytes = 8 * 1024;
    const maxImmutableMemtables = 2;
    const engine = await LsmEngine.open(fs, smallOptions({ memtableSizeBytes, maxImmutableMemtables, autoCompact: false, tableWorker }));
    fs.close();
    let acked = 0;
    let peakMemtableBytes = 0;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      writes.push(
        engine.put(0, key(i), value(i)).then(() => {
          acked++;
          peakMemtableBytes = Math.max(peakMemtableBytes, engine.stats().memtableBytes ?? 0);
        }),
      );
      // writers keep coming, a tick at a time, as clients would
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await waitFor('a write stall', () => (engine.stats().writeStalls ?? 0) >= 1);
    const stats = engine.stats();
    assert.ok(acked < 2000, 'some writes wait');
    assert.equal(stats.immutableMemtables, maxImmutableMemtables);
    // one write batch may land past the check that stalls the next ones
    const bound = (1 + maxImmutableMemtables) * memtableSizeBytes + 64 * 1024;
    assert.ok((stats.memtableBytes ?? 0) <= bound, `memtable bytes ${stats.memtableBytes} within ${bound}`);
    fs.open();
    await Promise.all(writes);
    assert.ok(peakMemtableBytes <= bound, `peak memtable bytes ${peakMemtableBytes} within ${bound}`);
    for (let i = 0; i < 2000; i += 97) assert.equal(Buffer.from((await engine.get(0, key(i)))!).toString(), value(i).toString());
    await engine.flush();
    assert.ok((engine.stats().writeStallMs ?? -1) >= 0);
    await engine.close();
  });
}

test('a stalled write rejects with the error of the flush it waits for; later writes go through once flushes work', async () => {
  const sim = new SimFS();
  let failTables = true;
  sim.onOp = (op, path) => {
    if (failTables && path.endsWith('.sst') && op === 'append') throw makeFsError('ENOSPC', op, path, 'simulated full disk');
  };
  const engine = await LsmEngine.open(sim, smallOptions({ memtableSizeBytes: 4096, maxImmutableMemtables: 1, autoCompact: false }));
  const outcomes: string[] = [];
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 300; i++) {
    writes.push(
      engine.put(0, key(i), value(i)).then(
        () => void (outcomes[i] = 'ok'),
        (err: unknown) => void (outcomes[i] = isRingkvError(err) ? err.code : String(err)),
      ),
    );
    if (i % 20 === 19) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(writes);
  assert.ok(outcomes.includes('STORAGE_FULL'), 'stalled writes were refused with the flush error');
  assert.ok(outcomes.every((o) => o === 'ok' || o === 'STORAGE_FULL'), `only successes and STORAGE_FULL: ${[...new Set(outcomes)].join(', ')}`);
  failTables = false;
  await engine.put(0, key(1000), value(1000));
  await engine.flush();
  assert.equal(Buffer.from((await engine.get(0, key(1000)))!).toString(), value(1000).toString());
  for (let i = 0; i < 300; i++) {
    const got = await engine.get(0, key(i));
    if (outcomes[i] === 'ok') assert.ok(got !== undefined, `acknowledged write ${i} is readable`);
  }
  await engine.close();
});
