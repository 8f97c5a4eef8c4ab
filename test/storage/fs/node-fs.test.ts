import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFS } from '../../../src/storage/fs/node-fs.js';
import { bytes, codeOf, text } from '../storage-test-kit.js';

test('NodeFS: round trip of every FS operation in a temp dir', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ringkv-nodefs-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const fs = new NodeFS();
  const dir = join(root, 'a', 'b');
  assert.deepEqual(await fs.list(dir), []);
  await fs.mkdirp(dir);
  await fs.mkdirp(dir); // idempotent

  const path = join(dir, 'f.log');
  const h = await fs.openAppend(path);
  assert.equal(h.path, path);
  await h.append(bytes('hello '));
  await h.append(bytes('world'));
  await h.sync();
  assert.equal(await h.size(), 11);
  assert.equal(text(await h.read(0, 5)), 'hello');
  assert.equal(text(await h.read(6, 100)), 'world');
  assert.equal((await h.read(100, 10)).length, 0);
  await h.close();
  await fs.syncDir(dir);

  // reopening for append continues at the end
  const again = await fs.openAppend(path);
  await again.append(bytes('!'));
  await again.close();
  assert.equal(text(await fs.readFile(path)), 'hello world!');

  const r = await fs.openRead(path);
  assert.equal(text(await r.read(6, 5)), 'world');
  await r.close();

  await fs.truncate(path, 5);
  assert.equal(text(await fs.readFile(path)), 'hello');

  const moved = join(dir, 'g.log');
  await fs.rename(path, moved);
  assert.equal(await fs.exists(path), false);
  assert.equal(await fs.exists(moved), true);
  assert.deepEqual(await fs.list(dir), ['g.log']);
  await fs.unlink(moved);
  assert.deepEqual(await fs.list(dir), []);

  assert.equal(await codeOf(fs.openRead(path)), 'ENOENT');
  assert.equal(await codeOf(fs.readFile(path)), 'ENOENT');
  assert.equal(await codeOf(fs.unlink(path)), 'ENOENT');
});
