/** The runtime parts of operations on their own: rolling request figures, the PBS sampler, the cluster watcher. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { ClusterWatcher } from '../../src/ops/cluster-watcher.js';
import type { NodeStatus } from '../../src/ops/node-status.js';
import { PbsSampler } from '../../src/ops/pbs-sampler.js';
import { RollingRequestStats } from '../../src/ops/request-stats.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import { waitFor } from '../helpers/cluster.js';

test('request figures: rates over the last full seconds, percentiles over the last minute, per-second series', () => {
  const stats = new RollingRequestStats({ windowSeconds: 120, rateWindowSeconds: 10, percentileWindowSeconds: 60 });
  const t0 = 1_000_000_000;
  for (let s = 0; s < 20; s++) for (let i = 0; i < 5; i++) stats.record('put', 2 + i, i !== 4, t0 + s * 1000 + i);
  stats.record('get', 100, true, t0 + 19_500);
  const f = stats.figures(t0 + 20_000);
  assert.equal(f.operations.put.ratePerSec, 5);
  assert.equal(f.operations.put.errorsPerSec, 1);
  assert.equal(f.operations.put.total, 100);
  assert.ok(Math.abs(f.operations.put.p50Ms! - 4) / 4 < 0.1);
  assert.ok(Math.abs(f.operations.get.p99Ms! - 100) / 100 < 0.1);
  assert.equal(f.operations.delete.p99Ms, null);
  const series = stats.series(t0 + 20_000, 5);
  assert.deepEqual(series.t, [15, 16, 17, 18, 19].map((s) => t0 + s * 1000));
  assert.deepEqual(series.operations.put.count, [5, 5, 5, 5, 5]);
  assert.deepEqual(series.operations.put.errors, [1, 1, 1, 1, 1]);
  // two minutes later the ring slots are reused: old seconds are gone
  const later = stats.figures(t0 + 200_000);
  assert.equal(later.operations.put.ratePerSec, 0);
  assert.equal(later.operations.put.p99Ms, null);
  assert.equal(later.operations.put.total, 100);
});

test('the PBS sampler says it has no samples, then predicts every R and W once each leg has enough', () => {
  const rng = new SeededRandom(5);
  const pbs = new PbsSampler({ n: 3, minSamples: 30, trials: 5000, uniform: () => rng.next() });
  const empty = pbs.status(0);
  assert.equal(empty.ready, false);
  assert.match(empty.note, /no samples yet/);
  assert.deepEqual(empty.predictions, []);
  for (let i = 0; i < 40; i++) {
    pbs.record('write', 1 + rng.next() * 4);
    pbs.record('ack', 0.2);
    pbs.record('read', 0.2);
    pbs.record('response', 0.3);
    pbs.recordRead(i % 2 === 0);
  }
  // not reused: it becomes possible as soon as the samples are there
  const ready = pbs.status(1);
  assert.equal(ready.ready, true);
  assert.equal(ready.readLocalProbability, 0.5);
  assert.equal(ready.predictions.length, 9);
  const strict = ready.predictions.find((p) => p.r === 2 && p.w === 2)!;
  assert.equal(strict.freshAtCommit, 1);
  assert.equal(strict.delta999Ms, 0);
  const weak = ready.predictions.find((p) => p.r === 1 && p.w === 1)!;
  assert.ok(weak.freshAtCommit < 1 && weak.delta999Ms > 0 && weak.delta999Ms <= 5, JSON.stringify(weak));
  assert.ok(weak.curve.every((c, i, all) => i === 0 || c.probability >= all[i - 1].probability), 'the curve never falls');
  assert.equal(pbs.status(2), ready, 'reused within maxAgeMs');
  assert.equal(pbs.status(60_000), ready, 'no new samples: nothing to recompute');
  pbs.record('write', 3);
  assert.notEqual(pbs.status(60_001), ready, 'recomputed once new samples came in');
  assert.equal(new PbsSampler({ n: 1, uniform: Math.random }).status(0).ready, false);
});

function fakeStatus(members: string[], membership: 'static' | 'gossip' = 'static'): NodeStatus {
  return {
    node: members[0],
    timeMs: 0,
    membership,
    members: members.map((id) => ({ id, address: `${id}:9`, httpAddress: `${id}.test:8`, zone: null, weight: 1, status: 'up', phi: 0, heartbeat: 0, incarnation: null, partitionsOwned: 0, replicasHeld: 0 })),
    ring: { partitions: 4, n: 3, epoch: null, owners: ['a', 'b', 'c', 'a'], pending: [] },
  } as unknown as NodeStatus;
}

test('the cluster watcher: a refused peer is down at once, a silent one after two polls, and they come back', async () => {
  const behaviour = new Map<string, 'ok' | 'refused' | 'timeout'>([['b', 'ok'], ['c', 'ok']]);
  let calls = 0;
  const fakeFetch = (async (url: string) => {
    calls++;
    const host = new URL(url).hostname.split('.')[0];
    const mode = behaviour.get(host);
    if (mode === 'refused') throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    if (mode === 'timeout') throw Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    return new Response(JSON.stringify({ node: host }), { status: 200 });
  }) as unknown as typeof fetch;
  let now = 1000;
  const watcher = new ClusterWatcher({ self: () => fakeStatus(['a', 'b', 'c']), fetch: fakeFetch, now: () => now, intervalMs: 10 });
  const statusOf = async (id: string): Promise<string> => (await watcher.overview()).members.find((m) => m.id === id)!.status;
  assert.equal(await statusOf('b'), 'up');
  behaviour.set('b', 'refused');
  behaviour.set('c', 'timeout');
  now += 1000;
  let o = await watcher.overview();
  assert.deepEqual(o.members.map((m) => m.status), ['up', 'down', 'up']);
  assert.equal(o.members[1].error, 'connection refused');
  assert.equal(o.members[2].reachable, false);
  now += 1000;
  o = await watcher.overview();
  assert.equal(o.members[2].status, 'down');
  behaviour.set('b', 'ok');
  behaviour.set('c', 'ok');
  now += 1000;
  o = await watcher.overview();
  assert.deepEqual(o.members.map((m) => m.status), ['up', 'up', 'up']);
  assert.deepEqual(o.events.map((e) => `${e.member} ${e.from}->${e.to}`), ['b up->down', 'c up->down', 'b down->up', 'c down->up']);

  // ten watchers share one poll loop: two peers asked per round, whoever watches
  const before = calls;
  let rounds = 0;
  const stops = Array.from({ length: 10 }, (_, i) => watcher.subscribe(() => (i === 0 ? rounds++ : undefined)));
  await waitFor('five rounds', () => rounds >= 5);
  for (const stop of stops) stop();
  const perRound = (calls - before) / rounds;
  assert.ok(perRound <= 2.5, `${perRound} status requests per round`);
  watcher.close();

  // with gossip the member table decides: a silent peer the table calls up stays up, with its error
  behaviour.set('b', 'refused');
  const gossiping = new ClusterWatcher({ self: () => fakeStatus(['a', 'b', 'c'], 'gossip'), fetch: fakeFetch, now: () => now, intervalMs: 10 });
  const g = await gossiping.overview();
  assert.deepEqual(g.members.map((m) => `${m.status} ${m.reachable}`), ['up true', 'up false', 'up true']);
  assert.equal(g.members[1].error, 'connection refused');
});
