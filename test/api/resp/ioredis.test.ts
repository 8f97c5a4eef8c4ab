import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { RespServer } from '../../../src/api/resp/server.js';
import { startServer } from './resp-test-kit.js';

let server: RespServer;
let port: number;
const open: Redis[] = [];

before(async () => {
  ({ server, port } = await startServer({ password: 'pw' }));
});

after(async () => {
  for (const r of open) r.disconnect();
  await server.close();
});

function connect(options: Record<string, unknown> = {}): Redis {
  const r = new Redis({ host: '127.0.0.1', port, password: 'pw', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
  open.push(r);
  return r;
}

test('ioredis connects (AUTH, CLIENT SETINFO, INFO ready check) and runs the string commands', async () => {
  const r = connect({ connectionName: 'ioredis-test' });
  await r.connect();
  assert.equal(await r.ping(), 'PONG');
  assert.equal(await r.set('a', 'alpha'), 'OK');
  assert.equal(await r.get('a'), 'alpha');
  assert.equal(await r.get('missing'), null);
  assert.equal(await r.mset('b', 'beta', 'c', 'gamma'), 'OK');
  assert.deepEqual(await r.mget('a', 'b', 'nope', 'c'), ['alpha', 'beta', null, 'gamma']);
  assert.equal(await r.incrby('n', 5), 5);
  assert.equal(await r.incr('n'), 6);
  assert.equal(await r.decrby('n', 10), -4);
  assert.equal(await r.get('n'), '-4');
  assert.equal(await r.del('a', 'b', 'nope'), 2);
  assert.equal(await r.exists('a', 'c'), 1);
  assert.equal(await r.getdel('c'), 'gamma');
  assert.equal(await r.set('x', '1', 'NX'), 'OK');
  assert.equal(await r.set('x', '2', 'NX'), null);
  assert.equal(await r.client('GETNAME'), 'ioredis-test');
  assert.equal(await r.dbsize(), 2); // n and x: DBSIZE is the node's key estimate
  await assert.rejects(r.set('t', 'v', 'EX', 10), /ringkv does not support key expiry/);
  assert.equal(await r.incr('x'), 2);
  await r.set('word', 'abc');
  await assert.rejects(r.incr('word'), /^ReplyError: ERR value is not an integer or out of range$/);
  await assert.rejects(r.call('HGETALL', 'h'), /unknown command 'HGETALL'/);
});

test('ioredis pipelines and binary values', async () => {
  const r = connect();
  await r.connect();
  const key = Buffer.from([0, 200, 13, 10]);
  const value = Buffer.from([255, 0, 1, 2, 13, 10]);
  const p = r.pipeline();
  for (let i = 0; i < 50; i++) p.set(`k${i}`, `v${i}`);
  p.set(key, value);
  for (let i = 0; i < 50; i++) p.get(`k${i}`);
  p.getBuffer(key);
  const results = (await p.exec()) ?? [];
  assert.equal(results.length, 102);
  assert.ok(results.every(([e]) => e === null));
  assert.deepEqual(results.slice(51, 101).map(([, v]) => v), Array.from({ length: 50 }, (_, i) => `v${i}`));
  assert.deepEqual(results[101][1], value);
});

test('ioredis with RESP3 (HELLO 3 AUTH)', async () => {
  const r = connect({ protocol: 3 });
  await r.connect();
  assert.equal(await r.set('r3', 'three'), 'OK');
  assert.equal(await r.get('r3'), 'three');
  assert.equal(await r.get('r3-missing'), null);
  assert.equal(await r.incrby('r3n', 7), 7);
  const config = await r.config('GET', 'appendonly');
  assert.ok(JSON.stringify(config).includes('appendonly'));
});

test('ioredis with a wrong password fails to connect', async () => {
  const r = connect({ password: 'wrong' });
  const errors: string[] = [];
  r.on('error', (e: Error) => errors.push(e.message));
  await assert.rejects(r.connect());
  assert.ok(errors.some((m) => m.includes('WRONGPASS')), `errors seen: ${errors.join('; ')}`);
});
