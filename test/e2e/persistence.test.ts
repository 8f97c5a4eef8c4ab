/** The LSM engine behind a real node: acknowledged writes survive a clean restart and a SIGKILL. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { http, startTestCluster, type TestCluster } from '../helpers/cluster.js';

let tc: TestCluster;
before(async () => {
  tc = await startTestCluster({ nodes: 1, settings: { engine: 'lsm', commitlogSync: 'batch', n: 1, r: 1, w: 1 } });
});
after(async () => {
  await tc?.stop();
});

async function writeKeys(prefix: string, count: number): Promise<void> {
  const url = tc.nodes[0].httpUrl;
  for (let i = 0; i < count; i++) {
    const res = await http(url, 'PUT', `/kv/${prefix}-${i}`, { body: `${prefix}-value-${i}` });
    assert.equal(res.status, 204, res.text);
  }
}

async function assertKeys(prefix: string, count: number): Promise<void> {
  const url = tc.nodes[0].httpUrl;
  for (let i = 0; i < count; i++) {
    const res = await http(url, 'GET', `/kv/${prefix}-${i}`);
    assert.equal(res.status, 200, `${prefix}-${i}: ${res.text}\n${tc.logs()}`);
    assert.equal(res.text, `${prefix}-value-${i}`);
  }
}

test('data written before a clean restart is there after it', async () => {
  await writeKeys('clean', 30);
  await tc.nodes[0].restart();
  await assertKeys('clean', 30);
});

test('acknowledged writes survive SIGKILL (batch commit log: acked after fsync)', async () => {
  await writeKeys('crash', 30);
  const node = tc.nodes[0];
  await node.kill('SIGKILL');
  node.spawn();
  await node.waitHealthy();
  await assertKeys('crash', 30);
  await assertKeys('clean', 30);
});
