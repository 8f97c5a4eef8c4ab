import test from 'node:test';
import assert from 'node:assert/strict';
import { SimFS } from '../../../src/storage/fs/sim-fs.js';
import { bytes, codeOf, text } from '../storage-test-kit.js';

async function writeFile(fs: SimFS, path: string, data: string, opts: { sync?: boolean } = {}): Promise<void> {
  const h = await fs.openAppend(path);
  await h.append(bytes(data));
  if (opts.sync) await h.sync();
  await h.close();
}

test('SimFS: append, read, size and readFile round-trip', async () => {
  const fs = new SimFS();
  await fs.mkdirp('/d');
  const h = await fs.openAppend('/d/f');
  await h.append(bytes('hello '));
  await h.append(bytes('world'));
  assert.equal(await h.size(), 11);
  assert.equal(text(await h.read(6, 100)), 'world'); // fewer bytes at EOF
  assert.equal((await h.read(50, 10)).length, 0);
  await h.close();
  assert.equal(text(await fs.readFile('/d/f')), 'hello world');
  assert.deepEqual(await fs.list('/d'), ['f']);
  assert.deepEqual(await fs.list('/missing'), []);
  assert.equal(await fs.exists('/d/f'), true);
  assert.equal(await fs.exists('/d/g'), false);
  assert.equal(await codeOf(fs.openRead('/d/g')), 'ENOENT');
  assert.equal(await codeOf(fs.readFile('/d/g')), 'ENOENT');
  assert.equal(await codeOf(fs.openAppend('/nodir/f')), 'ENOENT');
  assert.equal(await codeOf(h.append(bytes('x'))), 'EBADF'); // closed
  const r = await fs.openRead('/d/f');
  assert.equal(await codeOf(r.append(bytes('x'))), 'EBADF'); // read-only
});

test('SimFS: a crash keeps exactly the fsynced prefix of files whose entry is durable', async () => {
  const fs = new SimFS();
  await fs.mkdirp('/d');
  const h = await fs.openAppend('/d/f');
  await fs.syncDir('/d');
  await h.append(bytes('durable'));
  await h.sync();
  await h.append(bytes('-lost'));
  assert.deepEqual(fs.inspect('/d/f'), { length: 12, durableLength: 7, entryDurable: true });
  fs.crash();
  assert.equal(text(await fs.readFile('/d/f')), 'durable');
  assert.equal(await codeOf(h.append(bytes('x'))), 'EBADF'); // handles die with the crash
  assert.equal(await codeOf(h.sync()), 'EBADF');
});

test('SimFS: tearLastWrite keeps a random prefix of the unsynced bytes', async () => {
  const seen = new Set<number>();
  for (const r of [0, 0.3, 0.6, 0.999]) {
    const fs = new SimFS();
    await fs.mkdirp('/d');
    await writeFile(fs, '/d/f', 'abc', { sync: true });
    await fs.syncDir('/d');
    const h = await fs.openAppend('/d/f');
    await h.append(bytes('0123456789'));
    fs.crash({ tearLastWrite: true, random: () => r });
    const after = text(await fs.readFile('/d/f'));
    assert.ok(('abc0123456789').startsWith(after) && after.startsWith('abc'), after);
    seen.add(after.length);
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [3, 6, 9, 13]);
});

test('SimFS: directory entries are durable only after syncDir', async () => {
  const fs = new SimFS();
  await fs.mkdirp('/d');
  await writeFile(fs, '/d/created', 'x', { sync: true });
  fs.crash();
  assert.equal(await fs.exists('/d/created'), false, 'file fsynced but its entry was not');

  await writeFile(fs, '/d/a', 'A', { sync: true });
  await writeFile(fs, '/d/gone', 'G', { sync: true });
  await fs.syncDir('/d');
  await fs.rename('/d/a', '/d/b');
  await fs.unlink('/d/gone');
  assert.deepEqual(await fs.list('/d'), ['b']);
  fs.crash();
  assert.deepEqual(await fs.list('/d'), ['a', 'gone'], 'rename and unlink undone without syncDir');

  await fs.rename('/d/a', '/d/b');
  await fs.unlink('/d/gone');
  await fs.syncDir('/d');
  fs.crash();
  assert.deepEqual(await fs.list('/d'), ['b']);
  assert.equal(text(await fs.readFile('/d/b')), 'A');
});

test('SimFS: rename atomically replaces the target', async () => {
  const fs = new SimFS();
  await fs.mkdirp('/d');
  await writeFile(fs, '/d/new', 'new', { sync: true });
  await writeFile(fs, '/d/cur', 'old', { sync: true });
  await fs.rename('/d/new', '/d/cur');
  assert.equal(text(await fs.readFile('/d/cur')), 'new');
  assert.deepEqual(await fs.list('/d'), ['cur']);
  assert.equal(await codeOf(fs.rename('/d/new', '/d/x')), 'ENOENT');
});

test('SimFS: failNext fails the next matching operations with the given code, then recovers', async () => {
  const fs = new SimFS();
  await fs.mkdirp('/d');
  const h = await fs.openAppend('/d/f');
  fs.failNext('sync', 'EIO', 2);
  await h.append(bytes('abc'));
  assert.equal(await codeOf(h.sync()), 'EIO');
  assert.equal(await codeOf(h.sync()), 'EIO');
  assert.equal(fs.inspect('/d/f')?.durableLength, 0, 'a failed sync makes nothing durable');
  await h.sync();
  assert.equal(fs.inspect('/d/f')?.durableLength, 3);

  fs.failNext('append', 'ENOSPC');
  assert.equal(await codeOf(h.append(bytes('zz'))), 'ENOSPC');
  assert.equal(await h.size(), 3, 'a failed append writes nothing');

  fs.failNext('any', 'EIO');
  assert.equal(await codeOf(fs.openAppend('/d/g')), 'EIO');
  fs.failNext('read', 'EIO');
  assert.equal(await codeOf(h.read(0, 1)), 'EIO');
  fs.failNext('rename', 'EIO');
  assert.equal(await codeOf(fs.rename('/d/f', '/d/h')), 'EIO');
  fs.failNext('openAppend', 'ENOSPC');
  assert.equal(await codeOf(fs.openAppend('/d/g')), 'ENOSPC');
  await fs.openAppend('/d/g');
  const err = await h.sync().then(() => undefined, (e: unknown) => e);
  assert.equal(err, undefined);
  fs.failNext('sync', 'EIO');
  const failure = await h.sync().then(() => undefined, (e: unknown) => e);
  assert.ok(failure instanceof Error);
  assert.match(failure.message, /EIO/);
  assert.equal(fs.counters.faultsInjected, 8);
});

test('SimFS: setFull makes appends fail with ENOSPC until cleared', async () => {
  const fs = new SimFS();
  await fs.mkdirp('/d');
  const h = await fs.openAppend('/d/f');
  fs.setFull(true);
  assert.equal(await codeOf(h.append(bytes('x'))), 'ENOSPC');
  assert.equal(await codeOf(h.append(bytes('x'))), 'ENOSPC');
  fs.setFull(false);
  await h.append(bytes('ok'));
  assert.equal(text(await fs.readFile('/d/f')), 'ok');
});

test('SimFS: flipBit corrupts durable and unsynced bytes in place', async () => {
  const fs = new SimFS();
  await fs.mkdirp('/d');
  const h = await fs.openAppend('/d/f');
  await fs.syncDir('/d');
  await h.append(bytes('AA'));
  await h.sync();
  await h.append(bytes('AA'));
  fs.flipBit('/d/f', 0, 0); // durable byte: 'A' (0x41) -> '@' (0x40)
  fs.flipBit('/d/f', 3, 1); // unsynced byte: 'A' -> 'C'
  assert.equal(text(await fs.readFile('/d/f')), '@AAC');
  fs.crash();
  assert.equal(text(await fs.readFile('/d/f')), '@A', 'the flip of a durable byte survives a crash');
  assert.throws(() => fs.flipBit('/d/f', 2, 0), RangeError);
  assert.throws(() => fs.flipBit('/d/nope', 0, 0), /ENOENT/);
});

test('SimFS: truncate shortens the file and its durable prefix', async () => {
  const fs = new SimFS();
  await fs.mkdirp('/d');
  const h = await fs.openAppend('/d/f');
  await fs.syncDir('/d');
  await h.append(bytes('0123456789'));
  await h.sync();
  await fs.truncate('/d/f', 4);
  await h.append(bytes('xy'));
  assert.equal(text(await fs.readFile('/d/f')), '0123xy');
  fs.crash();
  assert.equal(text(await fs.readFile('/d/f')), '0123');
});

test('SimFS: the onOp hook sees every operation and can fail it', async () => {
  const fs = new SimFS();
  const seen: string[] = [];
  fs.onOp = (op, path) => {
    seen.push(`${op} ${path}`);
    if (op === 'unlink') throw Object.assign(new Error('hooked'), { code: 'EIO' });
  };
  await fs.mkdirp('/d');
  const h = await fs.openAppend('/d/f');
  await h.append(bytes('x'));
  assert.equal(await codeOf(fs.unlink('/d/f')), 'EIO');
  assert.deepEqual(seen, ['mkdirp /d', 'openAppend /d/f', 'append /d/f', 'unlink /d/f']);
});
