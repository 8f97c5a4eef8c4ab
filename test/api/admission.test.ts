import test from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionControl } from '../../src/api/admission.js';
import { admittedKv } from '../../src/api/admitted-kv.js';
import { createHttpApi } from '../../src/api/http/app.js';
import { NodeMetrics } from '../../src/api/metrics.js';
import { isRingkvError, RingkvError } from '../../src/core/errors.js';
import type { KvService } from '../../src/cluster/kv-service.js';
import { waitFor } from '../helpers/cluster.js';
import { FakeKvService } from '../helpers/fake-kv.js';
import { FakeKv } from './resp/fake-kv.js';
import { cmd, RawClient, startServer } from './resp/resp-test-kit.js';

/** Work the test finishes by hand. */
function gate(): { promise: Promise<string>; open: (v?: string) => void } {
  let open!: (v?: string) => void;
  const promise = new Promise<string>((resolve) => (open = (v = 'done') => resolve(v)));
  return { promise, open };
}

function isOverloaded(reason: string) {
  return (e: unknown): boolean => {
    assert.ok(isRingkvError(e), String(e));
    assert.equal(e.code, 'OVERLOADED');
    assert.equal(e.details?.reason, reason);
    return true;
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('up to maxInFlight run at once; the next waits, then starts with the rest of its timeout', async () => {
  let now = 1000;
  const ac = new AdmissionControl({ maxInFlight: 2, maxQueued: 10, defaultTimeoutMs: 5000, nowMs: () => now });
  const g1 = gate();
  const g2 = gate();
  const seen: Array<number | undefined> = [];
  const r1 = ac.run(undefined, (t) => (seen.push(t), g1.promise));
  const r2 = ac.run(300, (t) => (seen.push(t), g2.promise));
  const r3 = ac.run(300, async (t) => (seen.push(t), 'third'));
  await tick();
  assert.deepEqual(seen, [undefined, undefined], 'two run, the third waits');
  assert.equal(ac.stats.inFlight, 2);
  assert.equal(ac.stats.queued, 1);
  now += 120;
  g1.open();
  assert.equal(await r1, 'done');
  assert.equal(await r3, 'third');
  assert.deepEqual(seen, [undefined, undefined, 180], 'the waiter got its timeout minus the 120 ms it waited');
  g2.open();
  await r2;
  assert.equal(ac.stats.inFlight, 0);
  assert.equal(ac.stats.admitted, 3);
});

test('a full queue refuses at once with OVERLOADED (queue_full); nothing runs for it', async () => {
  const ac = new AdmissionControl({ maxInFlight: 1, maxQueued: 1, defaultTimeoutMs: 5000 });
  const g = gate();
  const running = ac.run(undefined, () => g.promise);
  const waiting = ac.run(undefined, async () => 'waited');
  let ran = false;
  await assert.rejects(
    ac.run(undefined, async () => {
      ran = true;
      return 'x';
    }),
    isOverloaded('queue_full'),
  );
  assert.equal(ran, false);
  g.open();
  assert.equal(await running, 'done');
  assert.equal(await waiting, 'waited');
  assert.equal(ac.stats.refused.queue_full, 1);
});

test('a waiter whose deadline passes in the queue is refused (timed_out_waiting), by its timer or when its turn comes', async () => {
  let now = 0;
  const ac = new AdmissionControl({ maxInFlight: 1, maxQueued: 10, defaultTimeoutMs: 5000, nowMs: () => now });
  const g = gate();
  const running = ac.run(undefined, () => g.promise);
  const late = ac.run(50, async () => 'late');
  const checked = assert.rejects(late, isOverloaded('timed_out_waiting'));
  now = 60; // past its deadline: refused at its turn, without running
  g.open();
  await running;
  await checked;
  // with the real clock, the timer refuses a waiter stuck behind work that never ends
  const real = new AdmissionControl({ maxInFlight: 1, maxQueued: 10, defaultTimeoutMs: 5000 });
  void real.run(undefined, () => new Promise<string>(() => {}));
  await assert.rejects(real.run(20, async () => 'never'), isOverloaded('timed_out_waiting'));
  assert.equal(real.stats.queued, 0);
});

test('when the queue drains too slowly for a request\'s timeout, it is refused at once (would_time_out)', async () => {
  let now = 0;
  const ac = new AdmissionControl({ maxInFlight: 1, maxQueued: 100, defaultTimeoutMs: 10_000, nowMs: () => now });
  // learn the drain rate: one completion every 100 ms while others wait
  const gates = Array.from({ length: 6 }, gate);
  const runs = gates.map((g) => ac.run(undefined, () => g.promise));
  for (const g of gates) {
    now += 100;
    g.open();
    await tick();
  }
  await Promise.all(runs);
  const blocker = gate();
  const blocking = ac.run(undefined, () => blocker.promise);
  const queued = [ac.run(undefined, async () => 'a'), ac.run(undefined, async () => 'b')];
  // two wait ahead at ~100 ms each: a 150 ms timeout cannot be met, a 1000 ms one can
  await assert.rejects(ac.run(150, async () => 'hopeless'), isOverloaded('would_time_out'));
  const patient = ac.run(1000, async () => 'patient');
  blocker.open();
  await blocking;
  assert.deepEqual(await Promise.all([...queued, patient]), ['a', 'b', 'patient']);
  assert.equal(ac.stats.refused.would_time_out, 1);
});

test('a failing request frees its slot', async () => {
  const ac = new AdmissionControl({ maxInFlight: 1, maxQueued: 0, defaultTimeoutMs: 5000 });
  await assert.rejects(ac.run(undefined, async () => Promise.reject(new RingkvError('TIMEOUT', 'slow'))), (e) => isRingkvError(e) && e.code === 'TIMEOUT');
  assert.equal(await ac.run(undefined, async () => 'next'), 'next');
});

test('over HTTP, a refused request is 503 OVERLOADED in the usual error shape, and admitted ones get the timeout left', async () => {
  const fake = new FakeKvService();
  const g = gate();
  let calls = 0;
  const slow: KvService = {
    ...fake,
    get: async (key, opts) => {
      calls++;
      if (calls === 1) await g.promise;
      return fake.get(key, opts);
    },
    put: (key, value, opts) => fake.put(key, value, opts),
    delete: (key, opts) => fake.delete(key, opts),
    increment: (key, delta, opts) => fake.increment(key, delta, opts),
  };
  const ac = new AdmissionControl({ maxInFlight: 1, maxQueued: 0, defaultTimeoutMs: 5000 });
  const app = createHttpApi({ kv: admittedKv(slow, ac), nodeId: 'n1', n: 3, maxKeyBytes: 64, maxValueBytes: 100, metrics: new NodeMetrics({ nodeId: 'n1' }) });
  const first = app.inject({ method: 'GET', url: '/kv/a' });
  await waitFor('the first request to hold the only slot', () => ac.stats.inFlight === 1);
  const refused = await app.inject({ method: 'GET', url: '/kv/b' });
  assert.equal(refused.statusCode, 503);
  assert.equal(JSON.parse(refused.payload).error.code, 'OVERLOADED');
  g.open();
  assert.equal((await first).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/kv/c' })).statusCode, 404);
  await app.close();
});

test('over RESP, a refused command answers -BUSY and the connection goes on', async () => {
  const kv = new FakeKv();
  kv.delayTurns = 50;
  const ac = new AdmissionControl({ maxInFlight: 1, maxQueued: 0, defaultTimeoutMs: 5000 });
  const { server, port } = await startServer({ kv: admittedKv(kv, ac) });
  const client = await RawClient.open(port);
  try {
    // pipelined: the first GET takes the only slot, the second finds no room
    const text = await client.roundTrip(Buffer.concat([cmd('GET', 'a'), cmd('GET', 'b')]), '$-1\r\n-BUSY ');
    assert.match(text, /^\$-1\r\n-BUSY node overloaded, request refused before it started: .*\r\n$/);
    kv.delayTurns = 0;
    assert.equal(await client.roundTrip(cmd('SET', 'c', '1'), '+OK\r\n'), '+OK\r\n');
  } finally {
    client.close();
    await server.close();
  }
});

test('when the event loop runs later than a request\'s timeout, the request is refused at once (loop_lag)', async () => {
  let lag = 0;
  const ac = new AdmissionControl({ maxInFlight: 4, maxQueued: 4, defaultTimeoutMs: 1000, lagMs: () => lag });
  assert.equal(await ac.run(undefined, async () => 'fine'), 'fine');
  lag = 1500;
  await assert.rejects(ac.run(undefined, async () => 'too late'), isOverloaded('loop_lag'));
  assert.equal(await ac.run(5000, async () => 'a longer timeout still fits'), 'a longer timeout still fits');
  assert.equal(ac.stats.refused.loop_lag, 1);
});

test('the drain rate counts only busy time: a burst after a long idle spell is not refused for the idle gap', async () => {
  let now = 0;
  const ac = new AdmissionControl({ maxInFlight: 1, maxQueued: 100, defaultTimeoutMs: 1000, nowMs: () => now });
  const first = gate();
  const a = ac.run(undefined, () => first.promise);
  const b = ac.run(undefined, async () => 'b');
  now += 10;
  first.open();
  await Promise.all([a, b]);
  now += 600_000; // ten idle minutes
  const g = gate();
  const g1 = gate();
  const busy = ac.run(undefined, () => g.promise);
  const w1 = ac.run(undefined, () => g1.promise);
  now += 10;
  g.open();
  await busy;
  // w1 runs now; the next one waits behind it: ~10 ms at the rate seen, not the ten idle minutes
  const next = ac.run(undefined, async () => 'next');
  g1.open();
  assert.equal(await w1, 'done');
  assert.equal(await next, 'next');
  assert.equal(ac.stats.refused.would_time_out, 0);
});
