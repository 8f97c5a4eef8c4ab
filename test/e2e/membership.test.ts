/**
 * Membership with real node processes on loopback: failure detection of a killed process, a node
 * joining a cluster under write load, a graceful leave, and an operator's remove of a dead node —
 * with every acknowledged key readable at the end.
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { RingkvClient } from '../../src/client/ringkv-client.js';

const FAST = { engine: 'memory', logLevel: 'warn', drainGraceMs: 2000, requestTimeoutMs: 2000 } as const;

interface Member {
  id: string;
  status: string;
}

async function members(url: string): Promise<Member[]> {
  return (await new RingkvClient({ url: [url] }).members()) as unknown as Member[];
}

async function ring(url: string): Promise<{ epoch: number; members: string[]; pending: unknown[] }> {
  return (await new RingkvClient({ url: [url] }).ring()) as { epoch: number; members: string[]; pending: unknown[] };
}

/** writes unique keys through the given nodes until stopped; returns the acknowledged ones */
function writeLoad(cluster: TestCluster, ids: string[]): { stop: () => Promise<string[]> } {
  const acked: string[] = [];
  let running = true;
  const workers = ids.map(async (id, w) => {
    const client = cluster.client(id);
    for (let i = 0; running; i++) {
      const key = `load-${w}-${i}`;
      try {
        await client.put(key, key, { w: 2 });
        acked.push(key);
      } catch {
        // a write that failed may or may not be stored: only acknowledged ones are checked
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return acked;
    },
  };
}

async function allReadable(client: RingkvClient, keys: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const key of keys) {
    const r = await client.get(key, { r: 2 });
    if (!r.found || !r.siblings.some((v) => Buffer.from(v).toString() === key)) missing.push(key);
  }
  return missing;
}

test('a killed node is marked down by every other node within seconds, and up again when restarted', async () => {
  const cluster = await startTestCluster({ nodes: 5, settings: FAST });
  after(() => cluster.stop());
  await waitFor('every member up', async () => (await members(cluster.node('n1').httpUrl)).every((m) => m.status === 'up'), 10_000);
  const killedAt = Date.now();
  await cluster.node('n3').kill();
  const others = ['n1', 'n2', 'n4', 'n5'];
  await waitFor('n3 down on every other node', async () => (await Promise.all(others.map(async (id) => (await members(cluster.node(id).httpUrl)).find((m) => m.id === 'n3')?.status === 'down'))).every(Boolean), 20_000);
  const seconds = (Date.now() - killedAt) / 1000;
  process.stderr.write(`[membership e2e] a killed node was down on every other node after ${seconds.toFixed(1)} s\n`);
  await cluster.node('n3').restart();
  await waitFor('n3 up again on every other node', async () => (await Promise.all(others.map(async (id) => (await members(cluster.node(id).httpUrl)).find((m) => m.id === 'n3')?.status === 'up'))).every(Boolean), 20_000);
});

test('a node joins a running cluster under write load; every acknowledged key stays readable', async () => {
  const cluster = await startTestCluster({ nodes: 3, settings: FAST });
  after(() => cluster.stop());
  const before = await ring(cluster.node('n1').httpUrl);
  const load = writeLoad(cluster, ['n1', 'n2', 'n3']);
  await new Promise((r) => setTimeout(r, 500));
  await cluster.join();
  // a pending ring (transfers), then the ring with n4
  await waitFor('n4 on the ring, transfers done', async () => {
    const r = await ring(cluster.node('n1').httpUrl);
    return r.members.includes('n4') && r.epoch >= before.epoch + 2 && r.pending.length === 0;
  }, 60_000);
  const acked = await load.stop();
  assert.ok(acked.length > 50, `the load ran (${acked.length} writes acknowledged)`);
  const missing = await allReadable(cluster.client('n4'), acked);
  assert.deepEqual(missing, [], cluster.logs());
});

test('a node leaves gracefully under write load; its partitions are handed over and no acknowledged key is lost', async () => {
  const cluster = await startTestCluster({ nodes: 4, settings: FAST });
  after(() => cluster.stop());
  const load = writeLoad(cluster, ['n1', 'n2']);
  await new Promise((r) => setTimeout(r, 500));
  await new RingkvClient({ url: [cluster.node('n4').httpUrl] }).admin('POST', '/cluster/leave');
  await waitFor('n4 left', async () => (await members(cluster.node('n1').httpUrl)).find((m) => m.id === 'n4')?.status === 'left', 60_000);
  const acked = await load.stop();
  const r = await ring(cluster.node('n1').httpUrl);
  assert.ok(!r.members.includes('n4'));
  await cluster.node('n4').stop();
  assert.deepEqual(await allReadable(cluster.client('n1', 'n2', 'n3'), acked), [], cluster.logs());
});

test('an operator removes a dead node; the surviving replicas rebuild its partitions on the new owners', async () => {
  const cluster = await startTestCluster({ nodes: 4, settings: FAST });
  after(() => cluster.stop());
  const client = cluster.client('n1', 'n2', 'n3');
  const keys: string[] = [];
  for (let i = 0; i < 200; i++) {
    await client.put(`r-${i}`, `r-${i}`, { w: 3 });
    keys.push(`r-${i}`);
  }
  await cluster.node('n4').kill();
  await waitFor('n4 down', async () => (await members(cluster.node('n1').httpUrl)).find((m) => m.id === 'n4')?.status === 'down', 20_000);
  await new RingkvClient({ url: [cluster.node('n2').httpUrl] }).admin('POST', '/cluster/remove/n4');
  await waitFor('n4 off the ring, transfers done', async () => {
    const r = await ring(cluster.node('n1').httpUrl);
    return !r.members.includes('n4') && r.pending.length === 0;
  }, 60_000);
  // n=3 on three nodes: every node now holds every key
  const all = cluster.client('n1', 'n2', 'n3');
  const missing: string[] = [];
  for (const key of keys) {
    const res = await all.get(key, { r: 3 });
    if (!res.found) missing.push(key);
  }
  assert.deepEqual(missing, [], cluster.logs());
});

test('a node without the cluster secret cannot join: it is refused before any message, and no member lists it', async () => {
  const cluster = await startTestCluster({ nodes: 3, settings: FAST });
  after(() => cluster.stop());
  await assert.rejects(cluster.join({ clusterSecret: 'not-the-secret-of-this-cluster' }), /did not prove the cluster secret/);
  assert.ok(!cluster.logs().includes('not-the-secret-of-this-cluster'), 'the secret is never logged');
  for (const id of ['n1', 'n2', 'n3']) assert.deepEqual((await members(cluster.node(id).httpUrl)).map((m) => m.id).sort(), ['n1', 'n2', 'n3']);
  // the cluster itself still works
  await cluster.client('n2').put('after-outsider', 'v', { w: 3 });
});
