import test from 'node:test';
import assert from 'node:assert/strict';
import { HttpRequestError } from '../../src/client/http-request.js';
import type { ChaosCluster } from '../../src/chaos/cluster.js';
import { NEMESES, nemesisByName } from '../../src/chaos/nemeses.js';
import { encodeCommand, parseReply, RespCallError } from '../../src/chaos/resp-client.js';
import { buildSchedule, selectNemeses } from '../../src/chaos/schedule.js';
import { classifyHttpStatus, classifyRespWrite, classifyThrown } from '../../src/chaos/workloads/outcome.js';

test('RESP replies parse whole and at every split offset', () => {
  const wire = Buffer.concat([Buffer.from('+OK\r\n'), Buffer.from('-QUORUM write quorum not met\r\n'), Buffer.from(':42\r\n'), Buffer.from('$5\r\nr1 r2\r\n'), Buffer.from('$-1\r\n'), Buffer.from('*2\r\n:1\r\n$1\r\nx\r\n')]);
  const all: unknown[] = [];
  for (let at = 0; at < wire.length; ) {
    const r = parseReply(wire, at)!;
    all.push(r.reply);
    at = r.next;
  }
  assert.equal(all.length, 6);
  assert.deepEqual(all[2], { kind: 'integer', value: 42n });
  // every prefix of a reply is incomplete, never wrong
  const bulk = Buffer.from('*2\r\n:1\r\n$5\r\nhello\r\n');
  for (let cut = 0; cut < bulk.length; cut++) assert.equal(parseReply(bulk.subarray(0, cut)), undefined, `cut at ${cut}`);
  assert.deepEqual(parseReply(bulk)?.next, bulk.length);
  assert.equal(encodeCommand(['SET', 'k', 'v v']).toString(), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv v\r\n');
});

test('outcomes: a write that may have reached a node is unknown, never fail', () => {
  const res = (status: number) => ({ status, headers: {}, body: Buffer.from(JSON.stringify({ error: { code: 'X', message: '' } })) });
  assert.equal(classifyHttpStatus(res(204), [204]).outcome, 'ok');
  assert.equal(classifyHttpStatus(res(503), [204]).outcome, 'unknown');
  assert.equal(classifyHttpStatus(res(504), [204]).outcome, 'unknown');
  assert.equal(classifyHttpStatus(res(507), [204]).outcome, 'unknown');
  assert.equal(classifyHttpStatus(res(400), [204]).outcome, 'fail');
  assert.equal(classifyThrown(new HttpRequestError('refused', false, false)).outcome, 'fail');
  assert.equal(classifyThrown(new HttpRequestError('reset', true, false)).outcome, 'unknown');
  assert.equal(classifyThrown(new RespCallError('timeout', true, true)).outcome, 'unknown');
  assert.equal(classifyThrown(new RespCallError('could not connect', false, false)).outcome, 'fail');
  const ok = (r: { kind: string }) => r.kind === 'integer';
  assert.equal(classifyRespWrite({ kind: 'integer', value: 1n }, ok).outcome, 'ok');
  assert.equal(classifyRespWrite({ kind: 'error', value: 'QUORUM write quorum not met: 1 of 2' }, ok).outcome, 'unknown');
  assert.equal(classifyRespWrite({ kind: 'error', value: 'ERR internal error' }, ok).outcome, 'unknown');
  assert.equal(classifyRespWrite({ kind: 'error', value: 'ERR value is not an integer or out of range' }, ok).outcome, 'fail');
});

/** a stand-in cluster that records the drops a partition asks for */
function recordingCluster(ids: string[]): { cluster: ChaosCluster; drops: () => Array<[string, string]> } {
  let last: Array<[string, string]> = [];
  const cluster = { ids, setDrops: async (p: Array<[string, string]>) => void (last = p) } as unknown as ChaosCluster;
  return { cluster, drops: () => last };
}

/** who each node can still hear from (itself included) */
function views(ids: string[], drops: Array<[string, string]>): Map<string, Set<string>> {
  return new Map(ids.map((to) => [to, new Set(ids.filter((from) => from === to || !drops.some(([f, t]) => f === from && t === to)))]));
}

test('partitions drop what they say, and healing removes every drop', async () => {
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const random = () => 0.37;
  const { cluster, drops } = recordingCluster(ids);

  const ring = await nemesisByName('majorities-ring').start(cluster, random);
  const ringViews = views(ids, drops());
  for (const [node, seen] of ringViews) assert.equal(seen.size, 3, `${node} should see a bare majority`);
  assert.equal(new Set([...ringViews.values()].map((s) => [...s].sort().join())).size, 5, 'every node sees a different majority');
  await ring.heal();
  assert.deepEqual(drops(), []);

  const bridge = await nemesisByName('bridge').start(cluster, random);
  const bridgeViews = views(ids, drops());
  assert.equal([...bridgeViews.values()].filter((s) => s.size === 5).length, 1, 'exactly one node sees everyone');
  assert.deepEqual(bridge.affected, []);

  const iso = await nemesisByName('isolate-one').start(cluster, random);
  assert.equal(iso.affected.length, 1);
  assert.deepEqual([...views(ids, drops()).get(iso.affected[0])!], iso.affected);

  const oneWay = await nemesisByName('one-way').start(cluster, random);
  const x = oneWay.affected[0];
  assert.ok(drops().every(([, to]) => to === x), 'only packets into the chosen node are dropped');

  const halves = await nemesisByName('halves').start(cluster, random);
  assert.equal(halves.affected.length, 2);
});

test('schedules: each fault is followed by a quiet period and a convergence check; unsupported nemeses are left out with the reason', () => {
  const steps = buildSchedule(['isolate-one', 'kill-one'], 1000, 500);
  assert.deepEqual(steps.map((s) => s.kind), ['quiet', 'fault', 'quiet', 'check', 'fault', 'quiet', 'check']);
  assert.throws(() => buildSchedule(['no-such'], 1, 1), /unknown nemesis/);
  const sel = selectNemeses('all', { nodes: 3, n: 3 }, new Set(), { delay: 'no netem here' });
  assert.ok(sel.run.includes('isolate-one'));
  assert.ok(!sel.run.includes('delay'));
  assert.deepEqual(sel.skipped.find((s) => s.nemesis === 'delay'), { nemesis: 'delay', why: 'no netem here' });
  assert.match(sel.skipped.find((s) => s.nemesis === 'majorities-ring')!.why, /5 nodes/);
  // 3 members: join makes 4, leave 3 again; remove would leave 2 < n
  assert.deepEqual(sel.run.slice(-2), ['join', 'leave']);
  assert.match(sel.skipped.find((s) => s.nemesis === 'remove')!.why, /would leave 2 members, fewer than n=3/);
  assert.equal(NEMESES.filter((n) => !n.unavailable).length, 16);
});

test('schedules: membership nemeses never take the cluster under n members, counting the changes before them', () => {
  const have = new Set<never>();
  assert.deepEqual(selectNemeses(['join', 'leave', 'remove'], { nodes: 5, n: 3 }, have, {}).run, ['join', 'leave', 'remove']);
  const twoLeaves = selectNemeses(['leave', 'remove', 'leave'], { nodes: 4, n: 3 }, have, {});
  assert.deepEqual(twoLeaves.run, ['leave']);
  assert.deepEqual(twoLeaves.skipped.map((s) => s.nemesis), ['remove', 'leave']);
  // a join first makes room for a later leave
  assert.deepEqual(selectNemeses(['remove', 'join', 'remove'], { nodes: 3, n: 3 }, have, {}).run, ['join', 'remove']);
  // a skipped nemesis does not change the count
  assert.deepEqual(selectNemeses(['leave', 'join', 'leave'], { nodes: 3, n: 3 }, have, {}).run, ['join', 'leave']);
});
