import test from 'node:test';
import assert from 'node:assert/strict';
import { SetCombiner } from '../../../src/api/resp/set-combiner.js';

function deferredWriter() {
  const writes: Array<{ key: string; value: string; finish: (e?: Error) => void }> = [];
  const write = (key: Buffer, value: Buffer) =>
    new Promise<void>((resolve, reject) => {
      writes.push({ key: key.toString(), value: value.toString(), finish: (e) => (e ? reject(e) : resolve()) });
    });
  return { writes, write };
}

const tick = () => new Promise((r) => setImmediate(r));

test('SETs of a key arriving during a write collapse into one write of the last value', async () => {
  const { writes, write } = deferredWriter();
  const c = new SetCombiner(write);
  const settled: string[] = [];
  const track = (p: Promise<void>, name: string) => p.then(() => settled.push(name));
  const a = track(c.set(Buffer.from('k'), Buffer.from('1')), 'a');
  const b = track(c.set(Buffer.from('k'), Buffer.from('2')), 'b');
  const d = track(c.set(Buffer.from('k'), Buffer.from('3')), 'd');
  const other = track(c.set(Buffer.from('other'), Buffer.from('x')), 'other');
  assert.deepEqual(writes.map((w) => `${w.key}=${w.value}`), ['k=1', 'other=x']);
  writes[0].finish();
  await a;
  await tick();
  assert.deepEqual(settled, ['a']);
  assert.deepEqual(writes.map((w) => `${w.key}=${w.value}`), ['k=1', 'other=x', 'k=3']);
  writes[2].finish();
  writes[1].finish();
  await Promise.all([b, d, other]);
  assert.deepEqual(new Set(settled), new Set(['a', 'b', 'd', 'other']));
  await tick();
  assert.equal(c.activeKeys, 0);
});

test('a failed combined write fails every SET it carried, and the key recovers', async () => {
  const { writes, write } = deferredWriter();
  const c = new SetCombiner(write);
  const first = c.set(Buffer.from('k'), Buffer.from('1'));
  const second = c.set(Buffer.from('k'), Buffer.from('2'));
  const third = c.set(Buffer.from('k'), Buffer.from('3'));
  writes[0].finish(new Error('quorum'));
  await assert.rejects(first, /quorum/);
  await tick();
  writes[1].finish(new Error('timeout'));
  await assert.rejects(second, /timeout/);
  await assert.rejects(third, /timeout/);
  await tick();
  assert.equal(c.activeKeys, 0);
  const again = c.set(Buffer.from('k'), Buffer.from('4'));
  writes[2].finish();
  await again;
});
