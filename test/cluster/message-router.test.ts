import test from 'node:test';
import assert from 'node:assert/strict';
import { RingkvError } from '../../src/core/errors.js';
import { MessageRouter } from '../../src/cluster/message-router.js';
import type { Logger, Message } from '../../src/cluster/runtime.js';
import { Simulation } from '../../src/sim/simulation.js';
import { SimNetwork } from '../../src/sim/sim-network.js';

function recordingLogger(): Logger & { lines: Array<{ level: string; obj: object; msg?: string }> } {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

interface Echo extends Message {
  type: 'echo';
  text: string;
}

function validateEcho(msg: Message): Echo {
  if (typeof msg.text !== 'string') throw new RingkvError('MALFORMED_REQUEST', 'echo needs text');
  return msg as Echo;
}

async function rejection(p: Promise<unknown>): Promise<RingkvError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RingkvError, `not a RingkvError: ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

test('routes a message to its handler after its validator; answers what the handler returns', async () => {
  const router = new MessageRouter();
  const seen: Array<[string, Echo]> = [];
  router.register('echo', validateEcho, (from, msg) => {
    seen.push([from, msg]);
    return { type: 'echo_ok', text: msg.text };
  });
  assert.deepEqual(await router.dispatch('n2', { type: 'echo', text: 'hi' }), { type: 'echo_ok', text: 'hi' });
  assert.deepEqual(seen, [['n2', { type: 'echo', text: 'hi' }]]);
  assert.equal(router.has('echo'), true);
  assert.equal(router.snapshotStats().handled.echo, 1);
  assert.throws(() => router.register('echo', validateEcho, () => ({ type: 'x' })), (e: unknown) => e instanceof RingkvError && e.code === 'INTERNAL');
});

test('malformed and unknown messages are refused before any handler runs, counted, and logged thinly', async () => {
  const logger = recordingLogger();
  const router = new MessageRouter({ logger });
  let handled = 0;
  router.register('echo', validateEcho, () => {
    handled++;
    return { type: 'ok' };
  });
  for (let i = 0; i < 9; i++) assert.equal((await rejection(router.dispatch('n2', { type: 'echo', text: 42 }))).code, 'MALFORMED_REQUEST');
  assert.equal((await rejection(router.dispatch('n2', { type: 'nope' }))).code, 'UNKNOWN_MESSAGE');
  assert.equal((await rejection(router.dispatch('n2', { no: 'type' } as unknown as Message))).code, 'UNKNOWN_MESSAGE');
  assert.equal((await rejection(router.dispatch('n2', null as unknown as Message))).code, 'UNKNOWN_MESSAGE');
  assert.equal(handled, 0);
  const stats = router.snapshotStats();
  assert.equal(stats.refused['echo:MALFORMED_REQUEST'], 9);
  assert.equal(stats.refused['nope:UNKNOWN_MESSAGE'], 1);
  assert.equal(stats.refused['?:UNKNOWN_MESSAGE'], 2);
  // 9 refusals of one kind: logged at the 1st, 2nd, 4th and 8th
  const echoWarnings = logger.lines.filter((l) => l.level === 'warn' && (l.obj as { type?: string }).type === 'echo');
  assert.deepEqual(echoWarnings.map((l) => (l.obj as { count: number }).count), [1, 2, 4, 8]);
  // a validator that throws something else is still a clean refusal
  router.register('weird', () => {
    throw new Error('boom');
  }, () => ({ type: 'ok' }));
  const weird = await rejection(router.dispatch('n2', { type: 'weird' }));
  assert.equal(weird.code, 'MALFORMED_REQUEST');
  assert.match(weird.message, /boom/);
});

test('handler errors: a RingkvError goes back as is, anything else becomes INTERNAL and is logged', async () => {
  const logger = recordingLogger();
  const router = new MessageRouter({ logger });
  router.register('q', (m) => m, () => {
    throw new RingkvError('QUORUM_NOT_MET', 'only 1 of 2');
  });
  router.register('bug', (m) => m, async () => {
    throw new TypeError('undefined is not a function');
  });
  assert.equal((await rejection(router.dispatch('n3', { type: 'q' }))).code, 'QUORUM_NOT_MET');
  const bug = await rejection(router.dispatch('n3', { type: 'bug' }));
  assert.equal(bug.code, 'INTERNAL');
  assert.equal(router.snapshotStats().handlerFailures, 1);
  assert.ok(logger.lines.some((l) => l.level === 'error' && (l.obj as { type?: string }).type === 'bug'));
});

test('a fallback takes types without a route (handlers not moved onto the router yet)', async () => {
  const router = new MessageRouter();
  router.register('echo', validateEcho, (_from, m) => ({ type: 'echo_ok', text: m.text }));
  router.setFallback(async (from, msg) => ({ type: 'legacy', from, was: msg.type }));
  assert.deepEqual(await router.dispatch('n1', { type: 'read' }), { type: 'legacy', from: 'n1', was: 'read' });
  assert.deepEqual(await router.dispatch('n1', { type: 'echo', text: 'x' }), { type: 'echo_ok', text: 'x' });
});

test('attached to a transport, a peer sees error replies for what the router refuses', async () => {
  const sim = new Simulation({ seed: 1 });
  const net = new SimNetwork(sim);
  const a = net.attach('a');
  const b = net.attach('b');
  const router = new MessageRouter();
  router.register('echo', validateEcho, (_from, m) => ({ type: 'echo_ok', text: m.text }));
  router.attach(b);
  a.onRequest(async () => ({ type: 'unused' }));
  const outcomes: unknown[] = [];
  a.request('b', { type: 'echo', text: 'hello' }, 1000).then((r) => outcomes.push(r));
  a.request('b', { type: 'echo' }, 1000).catch((e: RingkvError) => outcomes.push(e.code));
  a.request('b', { type: 'what' }, 1000).catch((e: RingkvError) => outcomes.push(e.code));
  await sim.runUntil(() => outcomes.length === 3, 5000);
  assert.deepEqual(new Set(outcomes.map((o) => JSON.stringify(o))), new Set([JSON.stringify({ type: 'echo_ok', text: 'hello' }), '"MALFORMED_REQUEST"', '"UNKNOWN_MESSAGE"']));
});
