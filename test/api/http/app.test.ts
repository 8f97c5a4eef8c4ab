import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHttpApi, type HttpApiOptions } from '../../../src/api/http/app.js';
import { NodeMetrics } from '../../../src/api/metrics.js';
import { RingkvError } from '../../../src/core/errors.js';
import type { AddressInfo } from 'node:net';
import { httpRequest } from '../../../src/client/http-request.js';
import { encodeKeyForPath } from '../../../src/client/key-path.js';
import { RingkvClient } from '../../../src/client/ringkv-client.js';
import { FakeKvService } from '../../helpers/fake-kv.js';

function setup(overrides: Partial<HttpApiOptions> = {}) {
  const kv = new FakeKvService();
  const metrics = new NodeMetrics({ nodeId: 'n1' });
  const app = createHttpApi({
    kv,
    nodeId: 'n1',
    n: 3,
    maxKeyBytes: 16,
    maxValueBytes: 100,
    metrics,
    cluster: { ringJson: () => ({ partitions: 8, n: 3 }), membersJson: () => [{ id: 'n1', status: 'up' }], healthWarnings: () => [] },
    ...overrides,
  });
  return { kv, app, metrics };
}

function errorOf(body: string): { code: string; message: string } {
  const parsed = JSON.parse(body) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(parsed), ['error']);
  assert.equal(typeof parsed.error.code, 'string');
  assert.equal(typeof parsed.error.message, 'string');
  return parsed.error;
}

test('PUT then GET returns the raw bytes and a context', async () => {
  const { app, kv } = setup();
  const put = await app.inject({ method: 'PUT', url: '/kv/hello', payload: Buffer.from([0, 1, 2, 255]), headers: { 'content-type': 'image/png' } });
  assert.equal(put.statusCode, 204);
  assert.ok(put.headers['x-ringkv-context']);
  const get = await app.inject({ method: 'GET', url: '/kv/hello' });
  assert.equal(get.statusCode, 200);
  assert.equal(get.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(get.rawPayload, Buffer.from([0, 1, 2, 255]));
  assert.equal(get.headers['x-ringkv-context'], put.headers['x-ringkv-context']);
  assert.deepEqual(kv.keysSeen, [Buffer.from('hello').toString('hex'), Buffer.from('hello').toString('hex')]);
});

test('a JSON body is stored as bytes, not parsed, even when it is invalid JSON', async () => {
  const { app } = setup();
  const put = await app.inject({ method: 'PUT', url: '/kv/j', payload: '{not json', headers: { 'content-type': 'application/json' } });
  assert.equal(put.statusCode, 204);
  const get = await app.inject({ method: 'GET', url: '/kv/j' });
  assert.equal(get.payload, '{not json');
});

test('an empty body without content type stores an empty value', async () => {
  const { app } = setup();
  const put = await app.inject({ method: 'PUT', url: '/kv/e' });
  assert.equal(put.statusCode, 204);
  const get = await app.inject({ method: 'GET', url: '/kv/e' });
  assert.equal(get.statusCode, 200);
  assert.equal(get.rawPayload.length, 0);
});

test('GET of a missing key is 404 NOT_FOUND without a context', async () => {
  const { app } = setup();
  const get = await app.inject({ method: 'GET', url: '/kv/nope' });
  assert.equal(get.statusCode, 404);
  assert.equal(errorOf(get.payload).code, 'NOT_FOUND');
  assert.equal(get.headers['x-ringkv-context'], undefined);
});

test('GET after DELETE is 404 and still carries the tombstone context', async () => {
  const { app } = setup();
  await app.inject({ method: 'PUT', url: '/kv/k', payload: 'v' });
  const del = await app.inject({ method: 'DELETE', url: '/kv/k' });
  assert.equal(del.statusCode, 204);
  const get = await app.inject({ method: 'GET', url: '/kv/k' });
  assert.equal(get.statusCode, 404);
  assert.ok(get.headers['x-ringkv-context']);
});

test('concurrent writes are 300 with base64 siblings; a write with the merged context resolves them', async () => {
  const { app } = setup();
  await app.inject({ method: 'PUT', url: '/kv/s', payload: 'a' });
  await app.inject({ method: 'PUT', url: '/kv/s', payload: 'b' });
  const get = await app.inject({ method: 'GET', url: '/kv/s' });
  assert.equal(get.statusCode, 300);
  assert.match(String(get.headers['content-type']), /^application\/json/);
  const body = JSON.parse(get.payload) as { context: string; siblings: { value: string }[] };
  assert.deepEqual(body.siblings.map((s) => Buffer.from(s.value, 'base64').toString()), ['a', 'b']);
  assert.equal(get.headers['x-ringkv-context'], body.context, 'the context is in the header too');
  const resolve = await app.inject({ method: 'PUT', url: '/kv/s', payload: 'ab', headers: { 'x-ringkv-context': body.context } });
  assert.equal(resolve.statusCode, 204);
  const after = await app.inject({ method: 'GET', url: '/kv/s' });
  assert.equal(after.statusCode, 200);
  assert.equal(after.payload, 'ab');
});

test('a malformed context is 400 MALFORMED_CONTEXT', async () => {
  const { app } = setup();
  const put = await app.inject({ method: 'PUT', url: '/kv/c', payload: 'x', headers: { 'x-ringkv-context': '!!garbage' } });
  assert.equal(put.statusCode, 400);
  assert.equal(errorOf(put.payload).code, 'MALFORMED_CONTEXT');
  const del = await app.inject({ method: 'DELETE', url: '/kv/c', headers: { 'x-ringkv-context': '!!garbage' } });
  assert.equal(del.statusCode, 400);
  assert.equal(errorOf(del.payload).code, 'MALFORMED_CONTEXT');
});

test('r and w outside [1, n] or not integers are 400 BAD_PARAMETER naming the value', async () => {
  const { app, kv } = setup();
  for (const [method, url, bad] of [
    ['GET', '/kv/k?r=0', '"0"'],
    ['GET', '/kv/k?r=4', '"4"'],
    ['GET', '/kv/k?r=two', '"two"'],
    ['GET', '/kv/k?r=1.5', '"1.5"'],
    ['PUT', '/kv/k?w=9', '"9"'],
    ['DELETE', '/kv/k?w=-1', '"-1"'],
    ['GET', '/kv/k?timeout_ms=0', '"0"'],
  ] as const) {
    const res = await app.inject({ method, url, payload: method === 'PUT' ? 'v' : undefined });
    assert.equal(res.statusCode, 400, url);
    const err = errorOf(res.payload);
    assert.equal(err.code, 'BAD_PARAMETER', url);
    assert.ok(err.message.includes(bad), `${url}: ${err.message}`);
  }
  assert.equal(kv.keysSeen.length, 0, 'a rejected request never reaches the service');
  const ok = await app.inject({ method: 'GET', url: '/kv/k?r=3&timeout_ms=250' });
  assert.equal(ok.statusCode, 404);
  assert.deepEqual(kv.lastReadOptions, { r: 3, timeoutMs: 250 });
  await app.inject({ method: 'PUT', url: '/kv/k?w=1', payload: 'v' });
  assert.equal(kv.lastWriteOptions?.w, 1);
});

test('keys are percent-decoded to arbitrary bytes, slashes included', async () => {
  const { app, kv } = setup();
  assert.equal((await app.inject({ method: 'PUT', url: '/kv/%FF%00%2fa', payload: 'v' })).statusCode, 204);
  assert.equal((await app.inject({ method: 'PUT', url: '/kv/a/b', payload: 'v' })).statusCode, 204);
  assert.equal((await app.inject({ method: 'PUT', url: '/kv/%C3%A9t%C3%A9?w=2', payload: 'v' })).statusCode, 204);
  assert.deepEqual(kv.keysSeen, ['ff002f61', Buffer.from('a/b').toString('hex'), Buffer.from('été').toString('hex')]);
});

test('malformed percent-encoding and empty keys are 400 BAD_PARAMETER', async () => {
  const { app, kv } = setup();
  for (const url of ['/kv/%zz', '/kv/abc%4', '/kv/%', '/kv/', '/kv/?r=2']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 400, url);
    assert.equal(errorOf(res.payload).code, 'BAD_PARAMETER', url);
  }
  assert.equal(kv.keysSeen.length, 0);
});

test('a key over maxKeyBytes is 413 KEY_TOO_LARGE naming the limit', async () => {
  const { app } = setup();
  for (const url of [`/kv/${'k'.repeat(17)}`, `/kv/${'%41'.repeat(17)}`, `/kv/${'k'.repeat(5000)}`]) {
    const res = await app.inject({ method: 'PUT', url, payload: 'v' });
    assert.equal(res.statusCode, 413, url.slice(0, 20));
    const err = errorOf(res.payload);
    assert.equal(err.code, 'KEY_TOO_LARGE');
    assert.match(err.message, /maxKeyBytes = 16/);
  }
  assert.equal((await app.inject({ method: 'PUT', url: `/kv/${'%41'.repeat(16)}`, payload: 'v' })).statusCode, 204);
});

test('a value over maxValueBytes is 413 VALUE_TOO_LARGE naming the limit, slightly or far over', async () => {
  const { app } = setup();
  assert.equal((await app.inject({ method: 'PUT', url: '/kv/v', payload: Buffer.alloc(100) })).statusCode, 204);
  for (const size of [101, 200_000]) {
    const res = await app.inject({ method: 'PUT', url: '/kv/v', payload: Buffer.alloc(size), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(res.statusCode, 413, String(size));
    const err = errorOf(res.payload);
    assert.equal(err.code, 'VALUE_TOO_LARGE');
    assert.match(err.message, /maxValueBytes = 100/);
  }
});

test('service errors keep their code and status', async () => {
  const { app, kv } = setup();
  const cases: [RingkvError, number][] = [
    [new RingkvError('QUORUM_NOT_MET', 'write quorum not met: 1 of 2 replicas answered'), 503],
    [new RingkvError('TIMEOUT', 'timed out after 5000 ms'), 504],
    [new RingkvError('TOO_MANY_SIBLINGS', 'key holds 100 siblings'), 409],
  ];
  for (const [error, status] of cases) {
    kv.failNextWith(error);
    const res = await app.inject({ method: 'PUT', url: '/kv/x', payload: 'v' });
    assert.equal(res.statusCode, status);
    assert.deepEqual(JSON.parse(res.payload), { error: { code: error.code, message: error.message } });
  }
});

test('an unexpected exception is 500 INTERNAL in the same shape and the server keeps serving', async () => {
  const { app } = setup({ kv: { get: async () => { throw new TypeError('boom'); } } as never });
  const res = await app.inject({ method: 'GET', url: '/kv/x' });
  assert.equal(res.statusCode, 500);
  assert.equal(errorOf(res.payload).code, 'INTERNAL');
  assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
});

test('unknown routes and methods are 404 NO_SUCH_ROUTE', async () => {
  const { app } = setup();
  for (const [method, url] of [['GET', '/nope'], ['POST', '/kv/x'], ['GET', '/kv']] as const) {
    const res = await app.inject({ method, url });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    const err = errorOf(res.payload);
    assert.equal(err.code, 'NO_SUCH_ROUTE');
    assert.ok(err.message.includes(url));
  }
});

test('health, ring, members', async () => {
  const { app } = setup();
  assert.deepEqual(JSON.parse((await app.inject({ method: 'GET', url: '/health' })).payload), { node: 'n1', status: 'ok' });
  assert.deepEqual(JSON.parse((await app.inject({ method: 'GET', url: '/cluster/ring' })).payload), { partitions: 8, n: 3 });
  assert.deepEqual(JSON.parse((await app.inject({ method: 'GET', url: '/cluster/members' })).payload), [{ id: 'n1', status: 'up' }]);
});

test('/metrics counts requests per route and status in Prometheus text', async () => {
  const { app } = setup();
  await app.inject({ method: 'PUT', url: '/kv/m', payload: 'v' });
  await app.inject({ method: 'GET', url: '/kv/m' });
  await app.inject({ method: 'GET', url: '/kv/absent' });
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  assert.match(res.payload, /ringkv_http_requests_total\{method="PUT",route="\/kv\/\*",status="204",node="n1"\} 1/);
  assert.match(res.payload, /ringkv_http_requests_total\{method="GET",route="\/kv\/\*",status="404",node="n1"\} 1/);
  assert.match(res.payload, /ringkv_http_request_duration_seconds_count\{[^}]*route="\/kv\/\*",status="200"[^}]*\} 1/);
});

test('with a password, requests need the bearer token except /health and /metrics', async () => {
  const { app } = setup({ password: 's3cret' });
  const denied = await app.inject({ method: 'GET', url: '/kv/x' });
  assert.equal(denied.statusCode, 401);
  assert.equal(errorOf(denied.payload).code, 'UNAUTHORIZED');
  assert.equal((await app.inject({ method: 'GET', url: '/kv/x', headers: { authorization: 'Bearer wrong!' } })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/kv/x', headers: { authorization: 'Bearer s3cret' } })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/health?probe=1' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/kv/x?r=1' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 401);
});

test('property: any key the client encodes reaches the service as the same bytes', async (t) => {
  // over a real socket: inject() parses the URL like fetch does and would drop "." and ".." segments
  const { app, kv } = setup({ maxKeyBytes: 64 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.constantFrom(...['.', '..', '...', '%2E', './a'].map((k) => Uint8Array.from(Buffer.from(k))))),
      async (key) => {
        const res = await httpRequest(origin, { method: 'PUT', path: `/kv/${encodeKeyForPath(key)}`, body: Buffer.from('v'), timeoutMs: 5000 });
        assert.equal(res.status, 204, res.body.toString());
        assert.equal(kv.keysSeen.at(-1), Buffer.from(key).toString('hex'));
      },
    ),
    { numRuns: 200 },
  );
});

test('the client writes and reads the keys "." and ".." as themselves', async (t) => {
  const { app, kv } = setup();
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const client = new RingkvClient({ url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` });
  for (const key of ['.', '..']) {
    await client.put(key, `value of ${key}`);
    assert.equal(kv.keysSeen.at(-1), Buffer.from(key).toString('hex'));
    const read = await client.get(key);
    assert.equal(Buffer.from(read.siblings[0]).toString(), `value of ${key}`);
  }
});

test('property: arbitrary garbage paths under /kv/ never produce a 5xx', async () => {
  const { app } = setup();
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 40 }), fc.constantFrom('GET', 'PUT', 'DELETE'), async (tail, method) => {
      const url = `/kv/${tail.replace(/[\s#]/g, '%')}`;
      const res = await app.inject({ method: method as 'GET', url, payload: method === 'PUT' ? 'v' : undefined });
      assert.ok(res.statusCode < 500, `${method} ${url} → ${res.statusCode} ${res.payload}`);
    }),
    { numRuns: 200 },
  );
});

test('X-Ringkv-Write-Id reaches the service with the write; given twice it is a 400', async () => {
  const { kv, app } = setup();
  let res = await app.inject({ method: 'PUT', url: '/kv/a', payload: 'x', headers: { 'x-ringkv-write-id': 'retry-me-1' } });
  assert.equal(res.statusCode, 204);
  assert.equal(kv.lastWriteOptions?.writeId, 'retry-me-1');
  res = await app.inject({ method: 'DELETE', url: '/kv/a', headers: { 'x-ringkv-write-id': 'retry-me-2' } });
  assert.equal(res.statusCode, 204);
  assert.equal(kv.lastWriteOptions?.writeId, 'retry-me-2');
  res = await app.inject({ method: 'PUT', url: '/kv/a', payload: 'x', headers: { 'x-ringkv-write-id': ['a', 'b'] } });
  assert.equal(res.statusCode, 400);
  assert.equal(errorOf(res.body).code, 'BAD_PARAMETER');
});

test('/health lists the node\'s warnings when it has some', async () => {
  const { app } = setup({ cluster: { ringJson: () => ({}), membersJson: () => [], healthWarnings: () => ['n=3 but the cluster has 1 member(s)'] } });
  const res = await app.inject({ method: 'GET', url: '/health' });
  assert.deepEqual(JSON.parse(res.body), { node: 'n1', status: 'ok', warnings: ['n=3 but the cluster has 1 member(s)'] });
});
