/**
 * End to end: a real 3-node cluster (separate processes, TCP between them, HTTP in front) driven
 * over HTTP. The last test kills a node, so the tests in this file run in order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RingkvClientError } from '../../src/client/ringkv-client.js';
import { http, startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

let tc: TestCluster;

before(async () => {
  tc = await startTestCluster({ nodes: 3, settings: { n: 3, r: 2, w: 2 }, nodeSettings: (_spec, i) => ({ zone: `zone-${i + 1}` }) });
});

after(async () => {
  await tc?.stop();
});

test('every node is healthy and names itself', async () => {
  for (const node of tc.nodes) {
    const res = await http(node.httpUrl, 'GET', '/health');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { node: node.id, status: 'ok' });
  }
});

test('a write on one node is read on the others; a delete on a third is seen everywhere', async () => {
  const [n1, n2, n3] = tc.nodes;
  const put = await http(n1.httpUrl, 'PUT', '/kv/user%3A42', { body: 'alice', headers: { 'content-type': 'text/plain' } });
  assert.equal(put.status, 204, put.text);
  assert.ok(put.headers.get('x-ringkv-context'));
  for (const node of [n2, n3]) {
    const get = await http(node.httpUrl, 'GET', '/kv/user%3A42');
    assert.equal(get.status, 200, `${node.id}: ${get.text}`);
    assert.equal(get.text, 'alice');
    assert.equal(get.headers.get('content-type'), 'application/octet-stream');
    assert.ok(get.headers.get('x-ringkv-context'));
  }
  const read = await http(n3.httpUrl, 'GET', '/kv/user%3A42');
  const del = await http(n3.httpUrl, 'DELETE', '/kv/user%3A42', { headers: { 'x-ringkv-context': read.headers.get('x-ringkv-context')! } });
  assert.equal(del.status, 204, del.text);
  for (const node of tc.nodes) {
    const gone = await http(node.httpUrl, 'GET', '/kv/user%3A42?r=3');
    assert.equal(gone.status, 404, `${node.id}: ${gone.text}`);
    assert.equal(gone.json().error.code, 'NOT_FOUND');
  }
});

test('the client round-trips binary keys and values across nodes', async () => {
  const client = tc.client();
  const key = Uint8Array.from([0, 255, 47, 37, 63, 32, 200]);
  const value = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
  await client.put(key, value);
  for (const node of tc.nodes) {
    const res = await tc.client(node.id).get(key);
    assert.equal(res.found, true, node.id);
    assert.deepEqual(res.siblings, [value]);
  }
  const missing = await client.get('never-written');
  assert.deepEqual(missing, { found: false, siblings: [], context: '' });
});

test('two blind writes become siblings (300); a write with the merged context resolves them (200)', async () => {
  const [n1, n2, n3] = tc.nodes;
  assert.equal((await http(n1.httpUrl, 'PUT', '/kv/cart', { body: 'apples' })).status, 204);
  assert.equal((await http(n2.httpUrl, 'PUT', '/kv/cart', { body: 'pears' })).status, 204);
  const conflict = await http(n3.httpUrl, 'GET', '/kv/cart?r=3');
  assert.equal(conflict.status, 300, conflict.text);
  const body = conflict.json() as { context: string; siblings: { value: string }[] };
  const values = body.siblings.map((s) => Buffer.from(s.value, 'base64').toString()).sort();
  assert.deepEqual(values, ['apples', 'pears']);
  assert.ok(body.context);

  const merged = await http(n3.httpUrl, 'PUT', '/kv/cart', { body: 'apples,pears', headers: { 'x-ringkv-context': body.context } });
  assert.equal(merged.status, 204, merged.text);
  for (const node of tc.nodes) {
    const get = await http(node.httpUrl, 'GET', '/kv/cart?r=3');
    assert.equal(get.status, 200, `${node.id}: ${get.text}`);
    assert.equal(get.text, 'apples,pears');
  }
});

test('errors over real HTTP keep the documented shape', async () => {
  const url = tc.nodes[0].httpUrl;
  const cases: [string, string, number, string][] = [
    ['GET', '/kv/x?r=4', 400, 'BAD_PARAMETER'],
    ['PUT', '/kv/x?w=0', 400, 'BAD_PARAMETER'],
    ['GET', '/kv/%zz', 400, 'BAD_PARAMETER'],
    ['GET', '/no/such/route', 404, 'NO_SUCH_ROUTE'],
    ['GET', `/kv/${'k'.repeat(1025)}`, 413, 'KEY_TOO_LARGE'],
  ];
  for (const [method, path, status, code] of cases) {
    const res = await http(url, method, path, method === 'PUT' ? { body: 'v' } : {});
    assert.equal(res.status, status, `${method} ${path.slice(0, 30)}: ${res.text}`);
    assert.equal(res.json().error.code, code);
  }
  const bad = await http(url, 'PUT', '/kv/x', { body: 'v', headers: { 'x-ringkv-context': 'not-a-context' } });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json().error.code, 'MALFORMED_CONTEXT');
  const big = await http(url, 'PUT', '/kv/big', { body: Buffer.alloc(1024 * 1024 + 1) });
  assert.equal(big.status, 413, big.text);
  assert.match(big.json().error.message, /maxValueBytes = 1048576/);
});

test('ring, members and metrics describe the cluster', async () => {
  const url = tc.nodes[1].httpUrl;
  const ring = await http(url, 'GET', '/cluster/ring');
  assert.equal(ring.status, 200);
  assert.equal(typeof ring.json(), 'object');
  const members = await http(url, 'GET', '/cluster/members');
  assert.equal(members.status, 200);
  const table = (members.json() as { id: string; zone: string; httpAddress: string; status: string }[]).sort((a, b) => a.id.localeCompare(b.id));
  assert.deepEqual(table.map((m) => m.id), ['n1', 'n2', 'n3']);
  assert.deepEqual(table.map((m) => `http://${m.httpAddress}`), tc.nodes.map((n) => n.httpUrl), 'each member says where its HTTP API is');
  assert.deepEqual(table.map((m) => m.status), ['up', 'up', 'up']);
  assert.deepEqual(table.map((m) => m.zone), ['zone-1', 'zone-2', 'zone-3'], 'every node knows every zone');
  const ringOfN3 = await http(tc.nodes[2].httpUrl, 'GET', '/cluster/ring');
  assert.deepEqual(ringOfN3.json().partitions, ring.json().partitions, 'every node computes the same ring');
  const metrics = await http(url, 'GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /ringkv_http_requests_total\{[^}]*route="\/kv\/\*"/);
  assert.match(metrics.text, /ringkv_process_cpu_seconds_total/);
});

test('with one of three nodes killed, w=2 writes succeed and w=3 writes fail with 503 saying how many answered', async () => {
  await tc.node('n3').kill('SIGKILL');
  const url = tc.nodes[0].httpUrl;
  // a few keys, so some have n3 in their preference list and some not: w=2 must hold for all
  for (let i = 0; i < 10; i++) {
    const ok = await http(url, 'PUT', `/kv/after-kill-${i}?w=2`, { body: `v${i}` });
    assert.equal(ok.status, 204, `key ${i}: ${ok.text}`);
    const read = await http(tc.nodes[1].httpUrl, 'GET', `/kv/after-kill-${i}`);
    assert.equal(read.status, 200, `key ${i}: ${read.text}`);
    assert.equal(read.text, `v${i}`);
  }
  const fail = await http(url, 'PUT', '/kv/after-kill-w3?w=3', { body: 'v' });
  assert.equal(fail.status, 503, fail.text);
  const error = fail.json().error as { code: string; message: string };
  assert.equal(error.code, 'QUORUM_NOT_MET');
  const m = /(\d+) of 3\b/.exec(error.message);
  assert.ok(m, `message says how many of 3 answered: ${error.message}`);
  assert.ok(Number(m[1]) < 3);

  await assert.rejects(tc.client('n1').put('after-kill-w3', 'v', { w: 3 }), (e: unknown) => e instanceof RingkvClientError && e.status === 503 && e.code === 'QUORUM_NOT_MET');
});

test('a killed node comes back and serves reads', async () => {
  const n3 = tc.node('n3');
  await n3.restart();
  await waitFor('n3 to read a key written while it was down (r=1 would miss it; r=2 must not)', async () => {
    const res = await http(n3.httpUrl, 'GET', '/kv/after-kill-0?r=2');
    return res.status === 200 && res.text === 'v0';
  });
});
