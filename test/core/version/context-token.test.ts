import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeContext, encodeContext, type CausalContext } from '../../../src/core/version/context-token.js';
import { RingkvError } from '../../../src/core/errors.js';
import { vvFromPairs } from '../../../src/core/version/version-vector.js';

const KEY = Buffer.from('some-key');
const isMalformed = (pattern?: RegExp) => (e: unknown) => e instanceof RingkvError && e.code === 'MALFORMED_CONTEXT' && e.httpStatus === 400 && (!pattern || pattern.test(e.message));

test('context token round-trips, counter totals included', () => {
  const actor = fc.string({ minLength: 1, maxLength: 20 });
  const decimal = fc.bigInt({ min: 0n, max: (1n << 70n) }).map(String);
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(actor, fc.integer({ min: 1, max: 2 ** 40 })), { selector: (t) => t[0], maxLength: 20 }),
      fc.array(fc.record({ node: actor, counter: fc.integer({ min: 1, max: 1e9 }) }).map((d) => ({ ...d })), { maxLength: 5 }),
      fc.uniqueArray(fc.record({ node: actor, inc: decimal, dec: decimal }), { selector: (e) => e.node, maxLength: 5 }),
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
      (pairs, dots, counterEntries, key) => {
        const vv = vvFromPairs(pairs);
        const counter = counterEntries.map((e) => ({ ...e })).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
        const ctx: CausalContext = { vv, dots, ...(counter.length ? { counter } : {}) };
        const token = encodeContext(ctx, key);
        assert.match(token, /^[A-Za-z0-9_-]*$/);
        if (vv.length === 0 && dots.length === 0 && counter.length === 0) return assert.equal(token, '');
        const back = decodeContext(token, key);
        assert.deepEqual(back.vv.map((e) => [e.node, e.counter]), vv.map((e) => [e.node, e.counter]));
        assert.deepEqual(back.dots, dots.map((d) => ({ node: d.node, counter: d.counter })));
        assert.deepEqual(back.counter ?? [], counter);
      },
    ),
  );
});

// case 7 of the causality review: a token from another key, with larger counters, silently dropped a
// concurrent acknowledged write of this key
test('a token read from another key is refused with 400 MALFORMED_CONTEXT naming the mismatch', () => {
  const token = encodeContext({ vv: vvFromPairs([['n1#1abc', 50]]), dots: [] }, Buffer.from('other-key'));
  assert.throws(() => decodeContext(token, KEY), isMalformed(/another key/));
  assert.equal(decodeContext(token, Buffer.from('other-key')).vv[0].counter, 50);
});

test('format-1 tokens (not tied to a key) are refused with a message that says to read again', () => {
  const v1 = Buffer.from([1, 1, 2, 0x6e, 0x31, 5, 0]).toString('base64url');
  assert.throws(() => decodeContext(v1, KEY), isMalformed(/format 1.*read the key again/));
});

test('malformed tokens are MALFORMED_CONTEXT errors, never crashes', () => {
  for (const t of ['!!!', 'AAAA', 'Ag', '/////', 'a'.repeat(300000)]) assert.throws(() => decodeContext(t, KEY), isMalformed());
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeContext(Buffer.from(bytes).toString('base64url'), KEY);
      } catch (e) {
        assert.ok(isMalformed()(e), String(e));
      }
    }),
    { numRuns: 2000 },
  );
  // valid prefix (this key's hash), garbage after it
  const prefix = Buffer.from(encodeContext({ vv: vvFromPairs([['a', 1]]), dots: [] }, KEY), 'base64url').subarray(0, 5);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
      try {
        decodeContext(Buffer.concat([prefix, tail]).toString('base64url'), KEY);
      } catch (e) {
        assert.ok(isMalformed()(e), String(e));
      }
    }),
    { numRuns: 2000 },
  );
});
