/**
 * The RESP front end on a real 3-node cluster (separate `ringkv start` processes): Redis clients on
 * different nodes see one key space, concurrent INCRBY through every node never loses an update, and
 * redis-benchmark runs against a node without an error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { http, startTestCluster, type TestCluster } from '../../helpers/cluster.js';
import { testNeeding } from '../../helpers/required-tool.js';
import { hasBinary, missingTool, redisBenchmarkWithoutErrors } from './redis-tools-kit.js';

const haveBenchmark = await hasBinary('redis-benchmark');

let tc: TestCluster;
const clients: Redis[] = [];

before(async () => {
  tc = await startTestCluster({ nodes: 3, resp: true, settings: { n: 3, r: 2, w: 2 } });
});

after(async () => {
  for (const c of clients) c.disconnect();
  await tc?.stop();
});

function redisOn(index: number): Redis {
  const node = tc.nodes[index];
  const c = new Redis({ host: '127.0.0.1', port: node.spec.respPort, maxRetriesPerRequest: 0, enableOfflineQueue: true, retryStrategy: () => null });
  clients.push(c);
  return c;
}

test('a SET through one node is read through the others; DEL through a third is seen everywhere', async () => {
  const [a, b, c] = [redisOn(0), redisOn(1), redisOn(2)];
  assert.equal(await a.set('greeting', 'hello'), 'OK');
  assert.equal(await b.get('greeting'), 'hello');
  assert.equal(await c.get('greeting'), 'hello');
  assert.equal(await c.del('greeting'), 1);
  assert.equal(await a.get('greeting'), null);
  assert.equal(await b.exists('greeting'), 0);
  const info = await a.info('cluster');
  assert.match(info, /ringkv_members:3/);
});

test('concurrent INCRBY through all three nodes sums exactly', async () => {
  const perNode = [redisOn(0), redisOn(0), redisOn(1), redisOn(1), redisOn(2), redisOn(2)];
  const rounds = 60;
  let expected = 0;
  const work: Promise<unknown>[] = [];
  perNode.forEach((client, ci) => {
    const pipeline = client.pipeline();
    for (let i = 0; i < rounds; i++) {
      const delta = ((ci * 7 + i * 13) % 11) - 3; // a mix of positive, zero and negative steps
      expected += delta;
      pipeline.incrby('counter:shared', delta);
    }
    work.push(
      pipeline.exec().then((results) => {
        for (const [e] of results ?? []) assert.equal(e, null);
      }),
    );
  });
  await Promise.all(work);
  for (const i of [0, 1, 2]) {
    assert.equal(await redisOn(i).get('counter:shared'), String(expected), `read through n${i + 1}`);
  }
  assert.equal(await redisOn(1).incrby('counter:shared', 0), expected);
});

test('concurrent SETs of one key through every node: all nodes then return the same value', async () => {
  const writers = [redisOn(0), redisOn(1), redisOn(2)];
  const written = new Set<string>();
  await Promise.all(
    writers.map(async (w, wi) => {
      for (let i = 0; i < 15; i++) {
        const v = `n${wi + 1}-${i}`;
        written.add(v);
        assert.equal(await w.set('contended', v), 'OK');
      }
    }),
  );
  const seen = await Promise.all(writers.map((w) => w.get('contended')));
  assert.ok(seen[0] !== null && written.has(seen[0]), `unexpected value ${seen[0]}`);
  assert.deepEqual(seen, [seen[0], seen[0], seen[0]], 'the last-writer pick is the same on every node');
  // HTTP shows whatever siblings concurrency left (at most one per concurrent writer), never more
  const res = await http(tc.nodes[0].httpUrl, 'GET', '/kv/contended');
  if (res.status === 300) assert.ok(res.json().siblings.length <= writers.length, res.text);
  else assert.equal(res.status, 200, res.text);
  // a SET after reading collapses them
  await writers[0].set('contended', 'final');
  const after = await http(tc.nodes[2].httpUrl, 'GET', '/kv/contended');
  assert.equal(after.status, 200, after.text);
  assert.equal(after.text, 'final');
});

testNeeding(
  'redis-benchmark -t set,get,incr -n 100000 -c 50 against one node of the cluster completes without errors',
  { ok: haveBenchmark, message: missingTool('redis-benchmark') },
  { timeout: 150_000 },
  async () => {
    await redisBenchmarkWithoutErrors(tc.nodes[0].spec.respPort, ['set', 'get', 'incr'], 100_000, 50, 140_000);
    // the counter redis-benchmark incremented through n1 is exact on another node
    assert.equal(await redisOn(2).get('counter:__rand_int__'), '100000');
  },
);
