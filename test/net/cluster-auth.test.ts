import test from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { RingkvError } from '../../src/core/errors.js';
import type { Message } from '../../src/cluster/runtime.js';
import { clusterSecretBytes, newNonce, proofMatches, proofOf, type HandshakeIds } from '../../src/net/cluster-auth.js';
import { authEnvelope, helloEnvelope, parseEnvelope, requestEnvelope, type Envelope } from '../../src/net/envelope.js';
import { envelopesOf, FrameDecoder, singleEnvelopeFrame } from '../../src/net/frame-codec.js';
import { identifyPeer } from '../../src/net/identify-peer.js';
import { recordingLogger, TEST_SECRET, TestCluster, waitFor } from './transport-harness.js';

const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const handshakeIds: fc.Arbitrary<HandshakeIds> = fc.record({
  dialler: fc.string({ minLength: 1, maxLength: 8 }),
  acceptor: fc.string({ minLength: 1, maxLength: 8 }),
  nonceD: bytes(16),
  nonceA: bytes(16),
});

test('a proof checks out only for the same secret, role, ids and nonces', () => {
  fc.assert(
    fc.property(bytes(20), handshakeIds, handshakeIds, (secret, ids, other) => {
      const proof = proofOf(secret, 'dialler', ids);
      assert.ok(proofMatches(secret, 'dialler', ids, proof));
      // the acceptor's proof cannot be reflected back as the dialler's
      assert.ok(!proofMatches(secret, 'acceptor', ids, proof));
      assert.ok(!proofMatches(Buffer.concat([secret, Buffer.from('x')]), 'dialler', ids, proof));
      const same = other.dialler === ids.dialler && other.acceptor === ids.acceptor && Buffer.compare(other.nonceD, ids.nonceD) === 0 && Buffer.compare(other.nonceA, ids.nonceA) === 0;
      assert.equal(proofMatches(secret, 'dialler', other, proof), same);
      assert.ok(!proofMatches(secret, 'dialler', ids, proof.subarray(1)));
      assert.ok(!proofMatches(secret, 'dialler', ids, undefined));
    }),
  );
  // fields are length-prefixed: moving a character from one id to the other changes the proof
  const nonce = newNonce();
  assert.ok(!proofMatches(TEST_SECRET, 'dialler', { dialler: 'n1', acceptor: '2', nonceD: nonce, nonceA: nonce }, proofOf(TEST_SECRET, 'dialler', { dialler: 'n', acceptor: '12', nonceD: nonce, nonceA: nonce })));
});

test('an operator secret: trailing newlines of a file are not part of it, and it has at least 16 characters', () => {
  assert.deepEqual(clusterSecretBytes('0123456789abcdef\n'), Buffer.from('0123456789abcdef'));
  assert.deepEqual(clusterSecretBytes('0123456789abcdef\r\n\n'), Buffer.from('0123456789abcdef'));
  assert.throws(() => clusterSecretBytes('short-secret\n'), (e: Error) => /at least 16 characters \(it has 12\)/.test(e.message) && !e.message.includes('short-secret'));
});

/** every handler call, to show that a refused peer never reaches it */
function countingHandler(calls: Message[]) {
  return async (_from: string, msg: Message): Promise<Message> => {
    calls.push(msg);
    return { type: 'ok' };
  };
}

test('transports with different secrets never talk: the request fails, both sides count or refuse, no handler runs', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const logger = recordingLogger();
  const a = await cluster.start('a', { logger });
  const b = await cluster.start('b', { clusterSecret: Buffer.from('another-cluster-secret!') });
  const calls: Message[] = [];
  a.onRequest(countingHandler(calls));
  b.onRequest(countingHandler(calls));
  // a dials b: b's hello does not prove a's secret, so a refuses b before sending anything
  await assert.rejects(a.request('b', { type: 'echo' }, 5000), (e: unknown) => e instanceof RingkvError && e.code === 'PEER_UNREACHABLE' && /cluster secret/.test(e.message));
  assert.equal(a.stats().authRefused, 1);
  // b dials a: a answers with its proof, which b refuses (b's secret differs)
  await assert.rejects(b.request('a', { type: 'echo' }, 5000), (e: unknown) => e instanceof RingkvError && e.code === 'PEER_UNREACHABLE');
  assert.equal(b.stats().authRefused, 1);
  assert.equal(calls.length, 0);
  assert.ok(logger.records.some((r) => r.level === 'warn' && /did not prove the cluster secret/.test(r.msg ?? '')));
  // the secret appears in no log record
  assert.ok(!JSON.stringify(logger.records).includes(TEST_SECRET.toString('utf8')));
});

/** a raw client speaking the handshake by hand: sends what it is told, collects what comes back */
class RawPeer {
  readonly socket: Socket;
  readonly received: Envelope[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('data', (chunk: Buffer) => {
      for (const value of this.decoder.push(chunk)) for (const e of envelopesOf(value)) this.received.push(parseEnvelope(e));
    });
  }

  send(...envelopes: unknown[][]): void {
    for (const e of envelopes) this.socket.write(singleEnvelopeFrame(e));
  }

  async hello(): Promise<Extract<Envelope, { kind: 0 }>> {
    await waitFor(() => this.received.length > 0 || this.closed, 'the acceptor hello');
    const hello = this.received[0];
    assert.ok(hello && hello.kind === 0, 'the acceptor answered with a hello');
    return hello;
  }
}

test('the acceptor handles nothing before a valid AUTH: a request after the hello, a wrong proof, a reflected proof and a replayed one are refused', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const b = await cluster.start('b');
  const calls: Message[] = [];
  b.onRequest(countingHandler(calls));
  const refusedBefore = b.stats().authRefused;

  // a request pipelined behind the hello, without AUTH: a protocol error, never handled
  const eager = new RawPeer(b.port);
  t.after(() => eager.socket.destroy());
  eager.send(helloEnvelope('x', newNonce()), requestEnvelope(1, { type: 'echo' }));
  await waitFor(() => eager.closed, 'the eager connection closed');

  // a proof made with another secret
  const wrong = new RawPeer(b.port);
  t.after(() => wrong.socket.destroy());
  const nonceW = newNonce();
  wrong.send(helloEnvelope('x', nonceW));
  const helloW = await wrong.hello();
  wrong.send(authEnvelope(proofOf(Buffer.from('not-the-cluster-secret'), 'dialler', { dialler: 'x', acceptor: 'b', nonceD: nonceW, nonceA: helloW.nonce! })), requestEnvelope(1, { type: 'echo' }));
  await waitFor(() => wrong.closed, 'the wrong-proof connection closed');

  // the acceptor's own proof sent back
  const reflect = new RawPeer(b.port);
  t.after(() => reflect.socket.destroy());
  reflect.send(helloEnvelope('x', newNonce()));
  const helloR = await reflect.hello();
  reflect.send(authEnvelope(helloR.proof!), requestEnvelope(1, { type: 'echo' }));
  await waitFor(() => reflect.closed, 'the reflecting connection closed');

  // a valid AUTH of one connection replayed on another (new nonces): refused
  const honest = new RawPeer(b.port);
  t.after(() => honest.socket.destroy());
  const nonceH = newNonce();
  honest.send(helloEnvelope('x', nonceH));
  const helloH = await honest.hello();
  const ids = { dialler: 'x', acceptor: 'b', nonceD: nonceH, nonceA: helloH.nonce! };
  assert.ok(proofMatches(TEST_SECRET, 'acceptor', ids, helloH.proof), 'the acceptor proved the secret');
  const goodAuth = authEnvelope(proofOf(TEST_SECRET, 'dialler', ids));
  honest.send(goodAuth, requestEnvelope(7, { type: 'echo' }));
  // positive control: with the right proof the request is handled and answered
  await waitFor(() => honest.received.some((e) => e.kind === 2 && e.id === 7), 'the honest request answered');
  assert.equal(calls.length, 1);

  const replay = new RawPeer(b.port);
  t.after(() => replay.socket.destroy());
  replay.send(helloEnvelope('x', nonceH));
  await replay.hello();
  replay.send(goodAuth, requestEnvelope(1, { type: 'echo' }));
  await waitFor(() => replay.closed, 'the replaying connection closed');

  assert.equal(calls.length, 1, 'only the honest request reached the handler');
  assert.equal(b.stats().authRefused - refusedBefore, 3, 'wrong, reflected and replayed proofs are counted as refusals');
});

test('identifyPeer trusts only a node that proves the secret', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const b = await cluster.start('b');
  assert.equal(await identifyPeer('127.0.0.1', b.port, 'joiner', TEST_SECRET, 5000), 'b');
  await assert.rejects(identifyPeer('127.0.0.1', b.port, 'joiner', Buffer.from('another-cluster-secret!'), 5000), /did not prove the cluster secret/);
  // identifying proves nothing to b, and b handled nothing from it
  await waitFor(() => b.connectionCount() === 0, 'the identifying connections closed');
  assert.equal(b.stats().messagesReceived, 2, 'two hellos, nothing else');
});
