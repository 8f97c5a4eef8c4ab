import test from 'node:test';
import assert from 'node:assert/strict';
import { RingkvError } from '../../src/core/errors.js';
import {
  authEnvelope,
  errorEnvelope,
  errorFromWire,
  helloEnvelope,
  oneWayEnvelope,
  parseEnvelope,
  PROTOCOL_VERSION,
  replyEnvelope,
  requestEnvelope,
} from '../../src/net/envelope.js';

const isMalformed = (e: unknown): boolean => e instanceof RingkvError && e.code === 'MALFORMED_FRAME';

test('every envelope the transport builds parses back to what it says', () => {
  const nonce = Buffer.alloc(16, 7);
  const proof = Buffer.alloc(32, 9);
  assert.deepEqual(parseEnvelope(helloEnvelope('n1', nonce)), { kind: 0, nodeId: 'n1', protocolVersion: PROTOCOL_VERSION, nonce });
  assert.deepEqual(parseEnvelope(helloEnvelope('n1', nonce, proof)), { kind: 0, nodeId: 'n1', protocolVersion: PROTOCOL_VERSION, nonce, proof });
  assert.deepEqual(parseEnvelope(authEnvelope(proof)), { kind: 5, proof });
  assert.deepEqual(parseEnvelope(requestEnvelope(5, { type: 'read', k: 1 })), { kind: 1, id: 5, message: { type: 'read', k: 1 } });
  assert.deepEqual(parseEnvelope(replyEnvelope(5, { type: 'read_ok' })), { kind: 2, id: 5, message: { type: 'read_ok' } });
  assert.deepEqual(parseEnvelope(errorEnvelope(5, 'TIMEOUT', 'slow')), { kind: 3, id: 5, code: 'TIMEOUT', text: 'slow' });
  assert.deepEqual(parseEnvelope(oneWayEnvelope({ type: 'gossip' })), { kind: 4, message: { type: 'gossip' } });
});

test('anything else is MALFORMED_FRAME', () => {
  const bad: unknown[] = [
    null,
    42,
    'hello',
    { k: 'req' },
    [],
    [0],
    [9, 1, { type: 'x' }],
    [0, '', 1],
    [0, 'n1'],
    [0, 'n1', 4, Buffer.alloc(15)],
    [0, 'n1', 4, Buffer.alloc(16), Buffer.alloc(31)],
    [0, 'n1', 4, 'nonce'],
    [5],
    [5, Buffer.alloc(31)],
    [5, 'proof'],
    [0, 7, 1],
    [1, -1, { type: 'x' }],
    [1, 1.5, { type: 'x' }],
    [1, '1', { type: 'x' }],
    [1, 1, { notype: true }],
    [1, 1, { type: 3 }],
    [1, 1, [{ type: 'x' }]],
    [1, 1, null],
    [1, 1, { type: 'x' }, 'extra'],
    [3, 1, 'TIMEOUT'],
    [3, 1, 5, 'text'],
    [4, 'not a message'],
  ];
  for (const value of bad) assert.throws(() => parseEnvelope(value), isMalformed, JSON.stringify(value));
});

test('errorFromWire keeps known codes and turns unknown ones into INTERNAL', () => {
  const known = errorFromWire('QUORUM_NOT_MET', '1 of 2');
  assert.equal(known.code, 'QUORUM_NOT_MET');
  assert.equal(known.message, '1 of 2');
  for (const code of ['NOPE', 'toString', '__proto__', 7, undefined]) {
    const e = errorFromWire(code, 'x');
    assert.equal(e.code, 'INTERNAL', String(code));
  }
  assert.equal(errorFromWire('TIMEOUT', undefined).message, 'remote error');
});
