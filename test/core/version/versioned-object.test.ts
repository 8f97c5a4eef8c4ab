import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyWrite, syncObjects, liveSiblings, sameVersion, lastWriterWins, contextOfRead, contextOfWrite, type VersionedObject, type SiblingValue } from '../../../src/core/version/versioned-object.js';
import { EMPTY_CONTEXT, type CausalContext } from '../../../src/core/version/context-token.js';
import { vvCovers } from '../../../src/core/version/version-vector.js';
import { RingkvError } from '../../../src/core/errors.js';

const limits = { siblingLimitCount: 100, vclockPruneCount: 50, vclockPruneAgeMs: 86_400_000 };
const bytes = (s: string): SiblingValue => ({ kind: 'bytes', bytes: Buffer.from(s) });
const text = (o: VersionedObject): string[] => liveSiblings(o).map((s) => (s.value.kind === 'bytes' ? Buffer.from(s.value.bytes).toString() : s.value.kind)).sort();
let clock = 1000;
const write = (o: VersionedObject | undefined, ctx: CausalContext, node: string, v: string): VersionedObject => {
  clock++;
  return applyWrite(o, ctx, node, bytes(v), { wallMs: clock, logical: 0 }, clock, limits);
};

test('a blind write is concurrent with what exists; a write with the read context supersedes it', () => {
  const a = write(undefined, EMPTY_CONTEXT, 'n1', 'x');
  const b = write(a, EMPTY_CONTEXT, 'n1', 'y');
  assert.deepEqual(text(b), ['x', 'y']);
  const c = write(b, contextOfRead(b), 'n2', 'z');
  assert.deepEqual(text(c), ['z']);
});

test('a put context names only the version written, not its concurrent siblings', () => {
  const a = write(undefined, EMPTY_CONTEXT, 'n1', 'x');
  const b = write(a, EMPTY_CONTEXT, 'n1', 'y');
  const yDot = b.siblings.find((s) => s.value.kind === 'bytes' && Buffer.from(s.value.bytes).toString() === 'y')!;
  const c = write(b, contextOfWrite(yDot, EMPTY_CONTEXT), 'n1', 'y2');
  assert.deepEqual(text(c), ['x', 'y2']);
});

test('a delete with the read context hides the value; a concurrent put survives a delete', () => {
  const a = write(undefined, EMPTY_CONTEXT, 'n1', 'x');
  const del = applyWrite(a, contextOfRead(a), 'n2', { kind: 'tombstone' }, { wallMs: 5, logical: 0 }, 5, limits);
  assert.deepEqual(text(del), []);
  assert.equal(del.siblings.length, 1);
  const concurrent = write(a, EMPTY_CONTEXT, 'n3', 'y');
  assert.deepEqual(text(syncObjects(del, concurrent)), ['y']);
});

test('the sibling limit refuses a write with a clear error', () => {
  let o: VersionedObject | undefined;
  const small = { ...limits, siblingLimitCount: 3 };
  for (let i = 0; i < 3; i++) o = applyWrite(o, EMPTY_CONTEXT, 'n1', bytes(String(i)), { wallMs: i, logical: 0 }, i, small);
  assert.throws(
    () => applyWrite(o, EMPTY_CONTEXT, 'n1', bytes('4'), { wallMs: 9, logical: 0 }, 9, small),
    (e: unknown) => e instanceof RingkvError && e.code === 'TOO_MANY_SIBLINGS' && /limit of 3/.test(e.message),
  );
});

test('last writer wins by HLC, then writer id', () => {
  const s = (wallMs: number, logical: number, node: string) => ({ hlc: { wallMs, logical }, dot: { node, counter: 1 } });
  assert.equal(lastWriterWins([s(5, 0, 'a'), s(7, 0, 'a'), s(6, 3, 'z')])!.hlc.wallMs, 7);
  assert.equal(lastWriterWins([s(5, 1, 'a'), s(5, 1, 'b')])!.dot.node, 'b');
});

/**
 * Random histories: replicas n1..n3 each mint writes (blind or with a context read from some replica)
 * and exchange whole objects. Whatever the interleaving, merge is commutative, associative and
 * idempotent, sibling sets are antichains, and no write is lost unless a context that saw it
 * superseded it.
 */
type Op = { kind: 'write'; at: number; ctxFrom: number | null; value: string } | { kind: 'sync'; from: number; to: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), at: fc.integer({ min: 0, max: 2 }), ctxFrom: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }), value: fc.constant('') }),
  fc.record({ kind: fc.constant('sync' as const), from: fc.integer({ min: 0, max: 2 }), to: fc.integer({ min: 0, max: 2 }) }),
);

function runHistory(ops: Op[]) {
  const replicas: VersionedObject[] = [{ vv: [], siblings: [] }, { vv: [], siblings: [] }, { vv: [], siblings: [] }];
  const written: string[] = [];
  const superseded = new Set<string>();
  ops.forEach((op, i) => {
    if (op.kind === 'write') {
      const value = `v${i}`;
      const ctx = op.ctxFrom === null ? EMPTY_CONTEXT : contextOfRead(replicas[op.ctxFrom]);
      if (op.ctxFrom !== null) for (const v of text(replicas[op.ctxFrom])) superseded.add(v);
      replicas[op.at] = write(replicas[op.at], ctx, `n${op.at + 1}`, value);
      written.push(value);
    } else {
      replicas[op.to] = syncObjects(replicas[op.to], replicas[op.from]);
    }
  });
  return { replicas, written, superseded };
}

test('merge is commutative, associative and idempotent; sibling sets are antichains', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const { replicas } = runHistory(ops);
      const [a, b, c] = replicas;
      assert.ok(sameVersion(syncObjects(a, b), syncObjects(b, a)));
      assert.ok(sameVersion(syncObjects(syncObjects(a, b), c), syncObjects(a, syncObjects(b, c))));
      assert.ok(sameVersion(syncObjects(a, a), a));
      for (const o of [a, b, c, syncObjects(syncObjects(a, b), c)]) {
        // antichain: no sibling's dot is covered by the context another sibling was written with;
        // and every held dot is covered by the object's own vv
        for (const s of o.siblings) assert.ok(vvCovers(o.vv, s.dot));
        const dots = o.siblings.map((s) => `${s.dot.node}:${s.dot.counter}`);
        assert.equal(new Set(dots).size, dots.length);
      }
    }),
    { numRuns: 300 },
  );
});

test('no write is lost: after full sync every write not superseded by a context that saw it is a sibling', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const { replicas, written, superseded } = runHistory(ops);
      const all = syncObjects(syncObjects(replicas[0], replicas[1]), replicas[2]);
      const present = new Set(text(all));
      for (const v of written) if (!superseded.has(v)) assert.ok(present.has(v), `write ${v} lost`);
      for (const v of present) assert.ok(!superseded.has(v), `superseded ${v} resurrected`);
    }),
    { numRuns: 300 },
  );
});
