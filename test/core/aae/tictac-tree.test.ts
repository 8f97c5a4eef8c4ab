import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TictacTree } from '../../../src/core/aae/tictac-tree.js';
import { keyEntryHash, segmentOf, versionDigestText } from '../../../src/core/aae/version-digest.js';
import { applyWrite, contextOfRead, type VersionedObject } from '../../../src/core/version/versioned-object.js';
import { EMPTY_CONTEXT } from '../../../src/core/version/context-token.js';

const entryArb = fc.record({ segment: fc.integer({ min: 0, max: 63 }), hi: fc.nat(0xffffffff), lo: fc.nat(0xffffffff) });

test('toggling is order-independent and its own inverse', () => {
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 50 }), fc.infiniteStream(fc.nat()), (entries, order) => {
      const a = new TictacTree(64, 8);
      const b = new TictacTree(64, 8);
      for (const e of entries) a.toggle(e.segment, e.hi, e.lo);
      const shuffled = entries.map((e) => ({ e, r: order.next().value })).sort((x, y) => x.r - y.r).map((x) => x.e);
      for (const e of shuffled) b.toggle(e.segment, e.hi, e.lo);
      assert.equal(a.root, b.root);
      assert.deepEqual(a.differingBranches(b.branches()), []);
      for (const e of entries) a.toggle(e.segment, e.hi, e.lo);
      assert.equal(a.root, new TictacTree(64, 8).root);
    }),
  );
});

test('two trees that differ in some segments find exactly those segments', () => {
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 40 }), fc.array(entryArb, { minLength: 1, maxLength: 5 }), (common, extra) => {
      const a = new TictacTree(64, 8);
      const b = new TictacTree(64, 8);
      for (const e of common) {
        a.toggle(e.segment, e.hi, e.lo);
        b.toggle(e.segment, e.hi, e.lo);
      }
      const expected = new Set<number>();
      const net = new Map<number, [number, number]>();
      for (const e of extra) {
        b.toggle(e.segment, e.hi, e.lo);
        const [h, l] = net.get(e.segment) ?? [0, 0];
        net.set(e.segment, [(h ^ e.hi) >>> 0, (l ^ e.lo) >>> 0]);
      }
      for (const [s, [h, l]] of net) if (h !== 0 || l !== 0) expected.add(s);
      const branches = a.differingBranches(b.branches());
      const segments = a.differingSegments(branches, b.leavesOf(branches));
      assert.deepEqual(segments.sort((x, y) => x - y), [...expected].sort((x, y) => x - y));
    }),
  );
});

test('malformed peer hashes are refused, not misread', () => {
  const t = new TictacTree(64, 8);
  assert.throws(() => t.differingBranches(new Uint8Array(3)), RangeError);
  assert.throws(() => t.differingSegments([0], new Uint8Array(8)), RangeError);
  assert.throws(() => new TictacTree(10, 3), RangeError);
});

test('a key\'s entry hash depends on its version, not on how the object was reached', () => {
  const limits = { siblingLimitCount: 100 };
  const v1 = applyWrite(undefined, EMPTY_CONTEXT, 'n1#a', { kind: 'bytes', bytes: Buffer.from('x') }, { wallMs: 1, logical: 0 }, limits);
  const v2 = applyWrite(v1, contextOfRead(v1), 'n2#a', { kind: 'bytes', bytes: Buffer.from('y') }, { wallMs: 2, logical: 0 }, limits);
  const copy: VersionedObject = JSON.parse(JSON.stringify(v2), (k, v) => (k === 'bytes' ? Buffer.from(v.data) : v));
  const key = Buffer.from('k');
  assert.deepEqual(keyEntryHash(key, v2), keyEntryHash(key, copy));
  assert.notDeepEqual(keyEntryHash(key, v1), keyEntryHash(key, v2));
  assert.notDeepEqual(keyEntryHash(Buffer.from('other'), v2), keyEntryHash(key, v2));
  assert.match(versionDigestText(v2), /n2#a:1/);
  const s = segmentOf(key, 1024);
  assert.ok(s >= 0 && s < 1024 && Number.isInteger(s));
});
