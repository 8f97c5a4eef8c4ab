import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeContext, encodeContext } from '../../../src/core/version/context-token.js';
import { RingkvError } from '../../../src/core/errors.js';
import { vvFromPairs } from '../../../src/core/version/version-vector.js';

test('context token round-trips', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 2 ** 40 })), { selector: (t) => t[0], maxLength: 20 }),
      fc.array(fc.record({ node: fc.string({ minLength: 1, maxLength: 20 }), counter: fc.integer({ min: 1, max: 1e9 }) }), { maxLength: 5 }),
      (pairs, dots) => {
        const vv = vvFromPairs(pairs, 0);
        const token = encodeContext({ vv, dots });
        assert.match(token, /^[A-Za-z0-9_-]*$/);
        const back = decodeContext(token);
        assert.deepEqual(back.vv.map((e) => [e.node, e.counter]), vv.map((e) => [e.node, e.counter]));
        assert.deepEqual(back.dots, dots.map((d) => ({ node: d.node, counter: d.counter })));
      },
    ),
  );
});

test('malformed tokens are MALFORMED_CONTEXT errors, never crashes', () => {
  for (const t of ['!!!', 'AAAA', 'Ag', '/////', 'a'.repeat(300000)]) {
    assert.throws(() => decodeContext(t), (e: unknown) => e instanceof RingkvError && e.code === 'MALFORMED_CONTEXT' && e.httpStatus === 400);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeContext(Buffer.from(bytes).toString('base64url'));
      } catch (e) {
        assert.ok(e instanceof RingkvError && e.code === 'MALFORMED_CONTEXT');
      }
    }),
    { numRuns: 2000 },
  );
});
