import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { RingkvError } from '../../src/core/errors.js';
import type { Message } from '../../src/cluster/runtime.js';
import { encodeFrame } from '../../src/net/frame-codec.js';
import { identifyPeer } from '../../src/net/identify-peer.js';
import { TcpTransport } from '../../src/net/tcp-transport.js';
import { echoHandler, recordingLogger, sleep, TEST_SECRET, TestCluster, waitFor } from './transport-harness.js';

function hasCode(code: string, messagePattern?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof RingkvError, `expected a RingkvError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (messagePattern) assert.match(e.message, messagePattern);
    return true;
  };
}

async function listenRaw(onSocket: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function closeRaw(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

test('request and reply between two transports: fields, binary values and the sender id survive', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  await cluster.start('b');
  const payload = Buffer.from([0, 1, 2, 250, 255]);
  const reply = await a.request('b', { type: 'echo', n: 42, payload }, 2000);
  assert.equal(reply.type, 'echo_ok');
  assert.equal(reply.from, 'a');
  assert.equal(reply.n, 42);
  assert.ok(reply.payload instanceof Uint8Array);
  assert.deepEqual([...(reply.payload as Uint8Array)], [...payload]);
  assert.equal(a.connectionCount('b'), 1);
});

test('10k concurrent requests between two transports all get their own reply', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  await cluster.start('b');
  const count = 10_000;
  const replies = await Promise.all(Array.from({ length: count }, (_, n) => a.request('b', { type: 'echo', n }, 30_000)));
  replies.forEach((reply, n) => assert.equal(reply.n, n));
  assert.equal(a.pendingRequestCount(), 0);
  assert.equal(a.connectionCount(), 1);
});

test('messages queued in the same tick leave in one batch frame per socket write (coalescing)', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const b = await cluster.start('b');
  await a.request('b', { type: 'echo' }, 2000);
  const before = a.stats();
  const bBefore = b.stats();
  await Promise.all(Array.from({ length: 1000 }, (_, n) => a.request('b', { type: 'echo', n }, 10_000)));
  const after = a.stats();
  const bAfter = b.stats();
  assert.equal(after.messagesSent - before.messagesSent, 1000);
  assert.ok(after.socketWrites - before.socketWrites <= 5, `${after.socketWrites - before.socketWrites} writes for 1000 requests`);
  assert.equal(after.framesSent - before.framesSent, after.socketWrites - before.socketWrites, 'one frame per write');
  // b answers from many microtasks, yet its replies are coalesced too
  assert.equal(bAfter.messagesSent - bBefore.messagesSent, 1000);
  assert.ok(bAfter.socketWrites - bBefore.socketWrites < 100, `${bAfter.socketWrites - bBefore.socketWrites} writes for 1000 replies`);
  assert.equal(bAfter.messagesReceived - bBefore.messagesReceived, 1000);
  assert.equal(after.messagesReceived - before.messagesReceived, 1000);
  assert.ok(after.framesReceived - before.framesReceived < 100);
  assert.equal(after.pendingRequests, 0);
});

test('three transports, each sending to both others at once: every reply matches, one connection per pair', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const ids = ['n1', 'n2', 'n3'];
  for (const id of ids) await cluster.start(id);
  const perNode = 3400; // ~10k requests in flight together
  const all: Promise<void>[] = [];
  for (const from of ids) {
    const others = ids.filter((id) => id !== from);
    for (let n = 0; n < perNode; n++) {
      const to = others[n % 2];
      all.push(
        cluster
          .get(from)
          .request(to, { type: 'echo', n, payload: `${from}->${to}` }, 30_000)
          .then((reply) => {
            assert.equal(reply.n, n);
            assert.equal(reply.from, from);
            assert.equal(reply.payload, `${from}->${to}`);
          }),
      );
    }
  }
  await Promise.all(all);
  // every pair dialled both ways at once; the larger id's dial retires
  await waitFor(() => ids.every((id) => cluster.get(id).connectionCount() === 2), 'one connection per pair');
});

test('simultaneous dial keeps a single connection, used both ways', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const logA = recordingLogger();
  const logB = recordingLogger();
  const a = await cluster.start('a', { logger: logA });
  const b = await cluster.start('b', { logger: logB });
  // both dial in the same tick, with requests in flight on both connections
  const first = await Promise.all([
    ...Array.from({ length: 50 }, (_, n) => a.request('b', { type: 'echo', n }, 5000)),
    ...Array.from({ length: 50 }, (_, n) => b.request('a', { type: 'echo', n }, 5000)),
  ]);
  assert.equal(first.length, 100);
  const dials = (log: typeof logA): number => log.records.filter((r) => r.msg === 'dialling peer').length;
  assert.deepEqual([dials(logA), dials(logB)], [1, 1], 'both sides dialled');
  await waitFor(() => a.connectionCount() === 1 && b.connectionCount() === 1, 'a single connection');
  // it stays single under traffic in both directions (checked after each round, not after a pause)
  for (let round = 0; round < 20; round++) {
    await Promise.all([a.request('b', { type: 'echo', n: round }, 5000), b.request('a', { type: 'echo', n: round }, 5000)]);
    assert.equal(a.connectionCount(), 1, `round ${round}`);
    assert.equal(b.connectionCount(), 1, `round ${round}`);
  }
});

test('a request that gets no reply rejects with TIMEOUT after its timeout; a late reply is ignored', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const b = await cluster.start('b');
  await assert.rejects(a.request('b', { type: 'hang' }, 100), hasCode('TIMEOUT', /after 100 ms/));
  let release: () => void = () => {};
  b.onRequest(async (from, msg) => {
    if (msg.type === 'slow') await new Promise<void>((resolve) => (release = resolve));
    return echoHandler(from, msg);
  });
  await assert.rejects(a.request('b', { type: 'slow' }, 50), hasCode('TIMEOUT', /slow to b timed out after 50 ms/));
  const framesBefore = a.stats().framesReceived;
  release();
  await waitFor(() => a.stats().framesReceived > framesBefore, 'the late reply to arrive');
  const reply = await a.request('b', { type: 'echo', n: 7 }, 2000);
  assert.equal(reply.n, 7);
  assert.equal(a.pendingRequestCount(), 0);
});

test('a zero or negative timeout is an expired deadline (TIMEOUT, nothing sent); NaN is BAD_PARAMETER', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  await cluster.start('b');
  await a.request('b', { type: 'echo' }, 2000);
  await assert.rejects(a.request('b', { type: 'echo' }, 0), hasCode('TIMEOUT', /after 0 ms/));
  await assert.rejects(a.request('b', { type: 'echo' }, -5), hasCode('TIMEOUT'));
  await assert.rejects(a.request('b', { type: 'echo' }, Number.NaN), hasCode('BAD_PARAMETER'));
  await assert.rejects(a.request('a', { type: 'echo' }, 0), hasCode('TIMEOUT'));
  assert.equal(a.pendingRequestCount(), 0);
});

test('multi-megabyte messages cross in both directions (frames spanning many socket reads)', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  await cluster.start('b');
  const big = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
  const small = Buffer.from('small');
  const replies = await Promise.all([
    a.request('b', { type: 'echo', n: 1, payload: big }, 20_000),
    a.request('b', { type: 'echo', n: 2, payload: small }, 20_000),
    a.request('b', { type: 'echo', n: 3, payload: big }, 20_000),
  ]);
  assert.deepEqual(replies.map((r) => r.n), [1, 2, 3]);
  assert.ok(big.equals(replies[0].payload as Buffer));
  assert.ok(small.equals(replies[1].payload as Buffer));
  assert.ok(big.equals(replies[2].payload as Buffer));
});

test('peer down: in-flight requests fail with CONNECTION_LOST (may have been applied), new ones with PEER_UNREACHABLE, long before their timeout', async (t) => {
  const cluster = new TestCluster({ reconnectBackoff: { initialMs: 2000, maxMs: 4000 } });
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const b = await cluster.start('b');
  await a.request('b', { type: 'echo' }, 2000);
  const bReceived = b.stats().framesReceived;
  const inFlight = a.request('b', { type: 'hang' }, 60_000);
  await waitFor(() => b.stats().framesReceived > bReceived, 'b to receive the request');
  const started = Date.now();
  const inFlightChecked = assert.rejects(inFlight, hasCode('CONNECTION_LOST', /in flight: the peer may have applied it/));
  await b.close();
  await inFlightChecked;
  // the next request dials, is refused, and says so
  await assert.rejects(a.request('b', { type: 'echo' }, 60_000), hasCode('PEER_UNREACHABLE'));
  // now in backoff: fails at once, without dialling
  await assert.rejects(a.request('b', { type: 'echo' }, 60_000), hasCode('PEER_UNREACHABLE', /backoff/));
  assert.equal(a.connectionCount('b'), 0);
  // a real-time bound far below the 60 s timeouts, only to show nothing waited for them
  assert.ok(Date.now() - started < 30_000);
});

test('unknown peer fails fast with PEER_UNREACHABLE; send to it is silently dropped', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  await assert.rejects(a.request('nobody', { type: 'echo' }, 60_000), hasCode('PEER_UNREACHABLE', /unknown peer/));
  cluster.ports.set('misconfigured', 70_000);
  await assert.rejects(a.request('misconfigured', { type: 'echo' }, 60_000), hasCode('PEER_UNREACHABLE', /cannot dial/));
  a.send('nobody', { type: 'gossip' });
  assert.equal(a.connectionCount(), 0);
});

test('a restarted peer is reached again after reconnect backoff', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const b = await cluster.start('b');
  await a.request('b', { type: 'echo' }, 2000);
  await b.close();
  await assert.rejects(a.request('b', { type: 'echo' }, 2000), hasCode('PEER_UNREACHABLE'));
  await assert.rejects(a.request('b', { type: 'echo' }, 2000), hasCode('PEER_UNREACHABLE'));
  // a fresh port (the old one could be taken meanwhile); resolvePeer is asked again on redial
  await cluster.start('b');
  let reply: Message | undefined;
  const deadline = Date.now() + 5000;
  while (!reply) {
    try {
      reply = await a.request('b', { type: 'echo', n: 3 }, 2000);
    } catch (e) {
      assert.ok(e instanceof RingkvError && e.code === 'PEER_UNREACHABLE', String(e));
      if (Date.now() > deadline) throw e;
      await sleep(20);
    }
  }
  assert.equal(reply.n, 3);
  assert.equal(a.connectionCount('b'), 1);
});

test('handler errors reach the caller: RingkvError keeps its code, anything else is INTERNAL', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const b = await cluster.start('b');
  b.onRequest(async (_from, msg) => {
    switch (msg.type) {
      case 'quorum':
        throw new RingkvError('QUORUM_NOT_MET', '1 of 2 replicas answered');
      case 'bug':
        throw new TypeError('cannot read properties of undefined');
      case 'error_reply':
        return { type: 'error', code: 'NOT_FOUND', message: 'no such key' };
      case 'weird_code':
        return { type: 'error', code: 'NO_SUCH_CODE', message: 'odd' };
      case 'not_a_message':
        return 42 as unknown as Message;
      default:
        return { type: 'ok' };
    }
  });
  await assert.rejects(a.request('b', { type: 'quorum' }, 2000), (e) => {
    assert.ok(e instanceof RingkvError);
    assert.equal(e.code, 'QUORUM_NOT_MET');
    assert.equal(e.message, '1 of 2 replicas answered');
    return true;
  });
  await assert.rejects(a.request('b', { type: 'bug' }, 2000), hasCode('INTERNAL', /cannot read properties/));
  await assert.rejects(a.request('b', { type: 'error_reply' }, 2000), hasCode('NOT_FOUND', /no such key/));
  await assert.rejects(a.request('b', { type: 'weird_code' }, 2000), hasCode('INTERNAL', /NO_SUCH_CODE/));
  await assert.rejects(a.request('b', { type: 'not_a_message' }, 2000), hasCode('INTERNAL'));
  // a handler that throws synchronously
  b.onRequest(() => {
    throw new RingkvError('BAD_PARAMETER', 'sync');
  });
  await assert.rejects(a.request('b', { type: 'x' }, 2000), hasCode('BAD_PARAMETER', /sync/));
  // the connection survived all of it
  assert.equal(a.connectionCount('b'), 1);
});

test('the same error mapping applies to requests addressed to ourselves', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const reply = await a.request('a', { type: 'echo', n: 5, payload: new Uint8Array([1, 2]) }, 1000);
  assert.equal(reply.from, 'a');
  assert.equal(reply.n, 5);
  a.onRequest(async () => {
    throw new RingkvError('TOO_MANY_SIBLINGS', 'too many');
  });
  await assert.rejects(a.request('a', { type: 'x' }, 1000), hasCode('TOO_MANY_SIBLINGS', /too many/));
  a.onRequest(() => new Promise(() => {}));
  await assert.rejects(a.request('a', { type: 'x' }, 50), hasCode('TIMEOUT', /after 50 ms/));
  assert.equal(a.connectionCount(), 0);
});

test('send is one-way: the handler sees it with the sender id, its reply goes nowhere', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const b = await cluster.start('b');
  const seen: Array<[string, Message]> = [];
  b.onRequest(async (from, msg) => {
    seen.push([from, msg]);
    if (msg.n === 1) throw new Error('handler failure on a one-way message is only logged');
    return { type: 'ignored' };
  });
  a.send('b', { type: 'gossip', n: 1 });
  a.send('b', { type: 'gossip', n: 2 });
  a.send('a', { type: 'to_self' });
  await waitFor(() => seen.length === 2, 'two one-way messages');
  assert.deepEqual(
    seen.map(([from, msg]) => [from, msg.n]),
    [
      ['a', 1],
      ['a', 2],
    ],
  );
});

test('a raw socket sending garbage is closed and logged; other peers keep working', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const logger = recordingLogger();
  const a = await cluster.start('a');
  const b = await cluster.start('b', { logger });
  await a.request('b', { type: 'echo' }, 2000);

  for (const garbage of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]), encodeFrame([1, 1, { type: 'req_before_hello' }])]) {
    const raw = connect({ host: '127.0.0.1', port: b.port });
    const closed = new Promise<void>((resolve) => raw.on('close', () => resolve()));
    raw.on('error', () => {});
    raw.write(garbage);
    // meanwhile a keeps talking to b
    const replies = await Promise.all(Array.from({ length: 100 }, (_, n) => a.request('b', { type: 'echo', n }, 5000)));
    assert.equal(replies.length, 100);
    await closed;
  }
  assert.ok(logger.records.filter((r) => r.level === 'warn' && /protocol error/.test(r.msg ?? '')).length >= 3);
  assert.equal(b.stats().protocolErrors, 3);
  assert.equal(b.connectionCount(), 1);
});

test('a peer that answers with a malformed frame: its connection closes, requests on it fail with PEER_UNREACHABLE', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const logger = recordingLogger();
  const a = await cluster.start('a', { logger });
  await cluster.start('b');
  const impostor = await listenRaw((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      socket.write(encodeFrame([0, 'evil', 1]));
      socket.write(Buffer.from([0, 0, 0, 2, 0x93, 0x01]));
    });
  });
  t.after(() => closeRaw(impostor));
  cluster.ports.set('evil', (impostor.address() as AddressInfo).port);
  await assert.rejects(a.request('evil', { type: 'echo' }, 60_000), hasCode('PEER_UNREACHABLE', /protocol error/));
  assert.ok(logger.records.some((r) => r.level === 'warn'));
  // a healthy peer is unaffected
  assert.equal((await a.request('b', { type: 'echo', n: 1 }, 2000)).n, 1);
});

test('a listener that is not the peer we dialled (wrong node id) is refused', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const b = await cluster.start('b');
  cluster.ports.set('c', b.port); // stale address: b now listens where c used to
  await assert.rejects(a.request('c', { type: 'echo' }, 60_000), hasCode('PEER_UNREACHABLE', /dialled c .* but b answered/));
});

test('a peer that never says hello is dropped after the connect timeout', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a', { connectTimeoutMs: 100 });
  // resume(): the socket reads (and so notices our close) but never answers
  const silent = await listenRaw((socket) => socket.on('error', () => {}).resume());
  t.after(() => closeRaw(silent));
  cluster.ports.set('mute', (silent.address() as AddressInfo).port);
  await assert.rejects(a.request('mute', { type: 'echo' }, 60_000), hasCode('PEER_UNREACHABLE', /(handshake|connect) timed out after 100 ms/));
});

test('past maxOutboundBytes new requests fail with send buffer full; the connection stays usable', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a', { maxOutboundBytes: 64 * 1024 });
  await cluster.start('b');
  await a.request('b', { type: 'echo' }, 2000);
  const payload = Buffer.alloc(10_000, 7);
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, n) => a.request('b', { type: 'echo', n, payload }, 5000)));
  const refused = results.filter((r) => r.status === 'rejected');
  assert.ok(refused.length > 0 && refused.length < 20, `${refused.length} refused`);
  for (const r of refused) hasCode('PEER_UNREACHABLE', /send buffer full/)((r as PromiseRejectedResult).reason);
  assert.equal((await a.request('b', { type: 'echo', n: 99 }, 2000)).n, 99);
});

test('a message over maxFrameBytes is refused locally and does not hurt the connection', async (t) => {
  const cluster = new TestCluster({ maxFrameBytes: 4096 });
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  await cluster.start('b');
  await assert.rejects(a.request('b', { type: 'echo', payload: Buffer.alloc(5000) }, 2000), hasCode('VALUE_TOO_LARGE', /maxFrameBytes \(4096\)/));
  assert.equal((await a.request('b', { type: 'echo', n: 1, payload: Buffer.alloc(3000) }, 2000)).n, 1);
});

test('close rejects requests in flight (outcome unknown: CONNECTION_LOST) and refuses new ones', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const b = await cluster.start('b');
  await a.request('b', { type: 'echo' }, 2000); // connected, so the next frame b reads is the request
  const bReceived = b.stats().framesReceived;
  const inFlight = a.request('b', { type: 'hang' }, 60_000);
  await waitFor(() => b.stats().framesReceived > bReceived, 'b to receive the request');
  const inFlightChecked = assert.rejects(inFlight, hasCode('CONNECTION_LOST'));
  await a.close();
  await inFlightChecked;
  await assert.rejects(a.request('b', { type: 'echo' }, 1000), hasCode('PEER_UNREACHABLE', /closed/));
  assert.equal(a.connectionCount(), 0);
});

test('listen on a port in use fails', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  const clash = new TcpTransport({ self: 'x', clusterSecret: TEST_SECRET, listenHost: '127.0.0.1', listenPort: a.port, resolvePeer: () => undefined });
  await assert.rejects(clash.listen(), /EADDRINUSE/);
  await clash.close();
});

test('a peer speaking protocol 2 (one envelope per frame) is refused with both versions named', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const logger = recordingLogger();
  const a = await cluster.start('a', { logger });
  const old = await listenRaw((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.write(encodeFrame([0, 'old', 2])));
  });
  t.after(() => closeRaw(old));
  cluster.ports.set('old', (old.address() as AddressInfo).port);
  await assert.rejects(a.request('old', { type: 'echo' }, 60_000), hasCode('PEER_UNREACHABLE', /speaks protocol 2, we speak 4/));
});

test('per-peer bounds: past maxPendingRequests our new requests are refused unsent; past maxServingRequests the peer answers OVERLOADED', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a', { maxPendingRequests: 3 });
  const b = await cluster.start('b', { maxServingRequests: 2 });
  await a.request('b', { type: 'echo' }, 2000);
  const hung = [a.request('b', { type: 'hang' }, 60_000), a.request('b', { type: 'hang' }, 60_000)];
  for (const h of hung) h.catch(() => undefined);
  // b serves two already: the third is refused at once, without running its handler
  await assert.rejects(a.request('b', { type: 'hang' }, 60_000), hasCode('OVERLOADED', /already serving 2 requests/));
  assert.equal(b.stats().requestsRefusedOverloaded, 1);
  // a now has two unanswered requests to b; a third one in flight makes three, its limit: the next
  // request is refused before it is sent
  const inFlight = a.request('b', { type: 'hang' }, 60_000);
  inFlight.catch(() => undefined);
  await assert.rejects(a.request('b', { type: 'echo' }, 60_000), hasCode('PEER_UNREACHABLE', /3 requests already wait for replies \(limit 3\)/));
  assert.equal(a.stats().requestsRefusedPending, 1);
  await assert.rejects(inFlight, hasCode('OVERLOADED'));
});

test('identifyPeer: a transport answers the handshake with its node id (its hello proves the secret)', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const b = await cluster.start('b');
  assert.equal(await identifyPeer('127.0.0.1', b.port, 'joiner', TEST_SECRET, 5000), 'b');
  // the handshake-only connection is gone, and b still serves others
  const a = await cluster.start('a');
  assert.equal((await a.request('b', { type: 'echo', n: 3 }, 5000)).n, 3);
});
