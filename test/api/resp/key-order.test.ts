import test from 'node:test';
import assert from 'node:assert/strict';
import { KeyOrder } from '../../../src/api/resp/key-order.js';

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const k = (s: string) => Buffer.from(s);
const tick = () => new Promise((r) => setImmediate(r));

test('reads wait for earlier writes of their keys; writes wait for earlier reads and writes', async () => {
  const order = new KeyOrder();
  const log: string[] = [];
  const w1 = gate();
  const r1 = gate();
  const started = (name: string, g?: { promise: Promise<void> }) => async () => {
    log.push(name);
    if (g) await g.promise;
  };
  const pw1 = order.run([k('a')], 'write', started('w1', w1));
  const pr1 = order.run([k('a')], 'read', started('r1', r1));
  const pr2 = order.run([k('a')], 'read', started('r2'));
  const pw2 = order.run([k('a'), k('a')], 'write', started('w2'));
  const pb = order.run([k('b')], 'write', started('b'));
  await tick();
  assert.deepEqual(log, ['w1', 'b']);
  w1.open();
  await pw1;
  await tick();
  assert.deepEqual(log, ['w1', 'b', 'r1', 'r2']);
  r1.open();
  await Promise.all([pr1, pr2, pw2, pb]);
  assert.deepEqual(log, ['w1', 'b', 'r1', 'r2', 'w2']);
  await tick();
  assert.equal(order.trackedKeys, 0);
});

test('a failed command still releases the commands behind it', async () => {
  const order = new KeyOrder();
  const failed = order.run([k('x')], 'write', async () => {
    throw new Error('boom');
  });
  const next = order.run([k('x')], 'read', async () => 'ran');
  await assert.rejects(failed, /boom/);
  assert.equal(await next, 'ran');
  await tick();
  assert.equal(order.trackedKeys, 0);
});

test("'set' does not wait for an earlier 'set' to end, only to start, and still waits for reads", async () => {
  const order = new KeyOrder();
  const log: string[] = [];
  const r = gate();
  const s1 = gate();
  const op = (name: string, g?: { promise: Promise<void> }) => async () => {
    log.push(name);
    if (g) await g.promise;
  };
  const pr = order.run([k('a')], 'read', op('r', r));
  const p1 = order.run([k('a')], 'set', op('s1', s1));
  const p2 = order.run([k('a')], 'set', op('s2'));
  const p3 = order.run([k('a')], 'set', op('s3'));
  await tick();
  assert.deepEqual(log, ['r'], 'sets wait for the read before them');
  r.open();
  await pr;
  await tick();
  assert.deepEqual(log, ['r', 's1', 's2', 's3'], 'sets start in order without waiting for s1 to end');
  const pw = order.run([k('a')], 'write', op('w'));
  await tick();
  assert.deepEqual(log, ['r', 's1', 's2', 's3'], 'a non-set write waits for the sets');
  s1.open();
  await Promise.all([p1, p2, p3, pw]);
  assert.deepEqual(log, ['r', 's1', 's2', 's3', 'w']);
  await tick();
  assert.equal(order.trackedKeys, 0);
});
