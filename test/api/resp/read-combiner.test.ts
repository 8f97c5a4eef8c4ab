import test from 'node:test';
import assert from 'node:assert/strict';
import type { GetResult } from '../../../src/cluster/kv-service.js';
import { ReadCombiner } from '../../../src/api/resp/read-combiner.js';

function deferredReader() {
  const reads: Array<{ key: string; finish: (r: GetResult | Error) => void }> = [];
  const read = (key: Buffer) =>
    new Promise<GetResult>((resolve, reject) => {
      reads.push({ key: key.toString(), finish: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
    });
  return { reads, read };
}

const result = (context: string): GetResult => ({ siblings: [], context });
const tick = () => new Promise((r) => setImmediate(r));

test('GETs arriving during a read share the NEXT read, never the running one', async () => {
  const { reads, read } = deferredReader();
  const c = new ReadCombiner(read);
  const first = c.get(Buffer.from('k'));
  const second = c.get(Buffer.from('k'));
  const third = c.get(Buffer.from('k'));
  const other = c.get(Buffer.from('other'));
  assert.deepEqual(reads.map((r) => r.key), ['k', 'other']);
  reads[0].finish(result('old'));
  assert.equal((await first).context, 'old');
  await tick();
  assert.deepEqual(reads.map((r) => r.key), ['k', 'other', 'k']);
  reads[2].finish(result('new'));
  assert.deepEqual([(await second).context, (await third).context], ['new', 'new']);
  reads[1].finish(result('o'));
  await other;
  await tick();
  assert.equal(c.activeKeys, 0);
});

test('a failed shared read fails the GETs that shared it; the key recovers', async () => {
  const { reads, read } = deferredReader();
  const c = new ReadCombiner(read);
  const first = c.get(Buffer.from('k'));
  const second = c.get(Buffer.from('k'));
  reads[0].finish(new Error('quorum'));
  await assert.rejects(first, /quorum/);
  await tick();
  reads[1].finish(new Error('timeout'));
  await assert.rejects(second, /timeout/);
  await tick();
  assert.equal(c.activeKeys, 0);
  const again = c.get(Buffer.from('k'));
  reads[2].finish(result('fine'));
  assert.equal((await again).context, 'fine');
});
