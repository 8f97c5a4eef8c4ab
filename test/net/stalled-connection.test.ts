/**
 * Internode connections that stop answering (left stuck by a partition or heavy loss) are replaced,
 * healthy ones are not. A proxy stalls the connections open through it, keeping their sockets open,
 * as a connection in TCP's retransmission back-off looks from both ends.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RingkvError } from '../../src/core/errors.js';
import { StallingProxy } from './stalling-proxy.js';
import { echoHandler, TestCluster, waitFor } from './transport-harness.js';

/** short enough to keep the tests quick; the logic does not depend on the values */
const FAST_STALL = { stallTimeoutMs: 100, stallProbeTimeoutMs: 100 };

function isCode(code: string, messagePattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof RingkvError, `expected a RingkvError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, messagePattern);
    return true;
  };
}

/** a and b, the one named `via` reaching the other through a stalling proxy */
async function pairThroughProxy(t: test.TestContext, via: 'a' | 'b') {
  const cluster = new TestCluster(FAST_STALL);
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const b = await cluster.start('b');
  const target = via === 'a' ? 'b' : 'a';
  const proxy = await StallingProxy.start(cluster.get(target).port);
  t.after(() => proxy.close());
  cluster.ports.set(target, proxy.port);
  return { a, b, proxy };
}

test('a connection that stops answering is replaced: its request in flight fails with CONNECTION_LOST, the next ones succeed on a new connection', { timeout: 30_000 }, async (t) => {
  const { a, b, proxy } = await pairThroughProxy(t, 'a');
  assert.equal((await a.request('b', { type: 'echo', n: 1 }, 5000)).n, 1);
  assert.equal(proxy.accepted, 1);

  proxy.stallOpenConnections();
  // a deadline far away: only the stall detection can end this request (TCP would take minutes)
  const inFlight = a.request('b', { type: 'echo', n: 2 }, 600_000);
  await assert.rejects(inFlight, isCode('CONNECTION_LOST', /replaced: it stopped answering.*in flight: the peer may have applied it/));
  assert.equal(a.stats().stalledConnectionsReplaced, 1);
  assert.ok(a.stats().stallProbesSent >= 1);

  // the successor is dialled at once, not on the next request
  await waitFor(() => proxy.accepted === 2 && a.connectionCount('b') === 1, 'a fresh connection to b');
  assert.equal((await a.request('b', { type: 'echo', n: 3 }, 5000)).n, 3);

  // the stuck bytes arriving late (the request, its reply) reach nobody and change nothing
  proxy.resume();
  await waitFor(() => b.connectionCount('a') === 1, 'b to see the old connection closed');
  assert.equal((await a.request('b', { type: 'echo', n: 4 }, 5000)).n, 4);
  assert.equal(a.stats().stalledConnectionsReplaced, 1);
});

test('a stalled connection the peer dialled is replaced too: requests flow again on one we dial', { timeout: 30_000 }, async (t) => {
  // a (the smaller id) dials b through the proxy; b's requests ride on that connection
  const { a, b, proxy } = await pairThroughProxy(t, 'a');
  assert.equal((await a.request('b', { type: 'echo', n: 1 }, 5000)).n, 1);
  assert.equal((await b.request('a', { type: 'echo', n: 2 }, 5000)).n, 2);
  assert.equal(b.connectionCount('a'), 1);

  proxy.stallOpenConnections();
  await assert.rejects(b.request('a', { type: 'echo' }, 600_000), isCode('CONNECTION_LOST', /replaced: it stopped answering/));
  assert.equal(b.stats().stalledConnectionsReplaced, 1);
  assert.equal((await b.request('a', { type: 'echo', n: 3 }, 5000)).n, 3);
  // and a, whose own requests wait on its stuck connection, replaces its side as well
  await assert.rejects(a.request('b', { type: 'echo' }, 600_000), isCode('CONNECTION_LOST', /replaced: it stopped answering/));
  assert.equal((await a.request('b', { type: 'echo', n: 4 }, 5000)).n, 4);
});

test('healthy connections are kept: a peer whose handler is slow answers the probes, an idle connection is never probed', { timeout: 30_000 }, async (t) => {
  const cluster = new TestCluster(FAST_STALL);
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const slow = await cluster.start('b');
  const idle = await cluster.start('c');
  assert.equal((await a.request('c', { type: 'echo', n: 1 }, 5000)).n, 1);
  const idleReceived = idle.stats().messagesReceived;

  // b's handler answers nothing (not even the probes: only b's transport can): one request waits, one
  // times out — nothing of ours comes back
  slow.onRequest(() => new Promise(() => {}));
  let hungSettled = false;
  a.request('b', { type: 'hang' }, 600_000).then(
    () => (hungSettled = true),
    () => (hungSettled = true),
  );
  await assert.rejects(a.request('b', { type: 'hang' }, 20), isCode('TIMEOUT', /timed out/));
  const slowReceived = slow.stats().messagesReceived;
  await waitFor(() => a.stats().stallProbesSent >= 5, 'several probes on the quiet connection to b');

  assert.ok(slow.stats().messagesReceived >= slowReceived + 4, 'the probes reached b');
  assert.equal(idle.stats().messagesReceived, idleReceived, 'no probe on the idle connection to c');
  assert.equal(a.stats().stalledConnectionsReplaced, 0);
  assert.equal(a.stats().reconnects, 0);
  assert.equal(a.connectionCount('b'), 1);
  assert.equal(a.connectionCount('c'), 1);
  assert.equal(hungSettled, false, 'the request waiting on b still waits');
  slow.onRequest(echoHandler);
  assert.equal((await a.request('b', { type: 'echo', n: 2 }, 5000)).n, 2);
  assert.equal((await a.request('c', { type: 'echo', n: 3 }, 5000)).n, 3);
});
