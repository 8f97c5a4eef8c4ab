import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  actorBehind,
  actorForKey,
  applyIncrement,
  applyWrite,
  contextOfRead,
  contextOfWrite,
  counterValue,
  lastWriterWins,
  liveSiblings,
  objectHasSeen,
  sameVersion,
  syncObjects,
  type SiblingValue,
  type VersionedObject,
} from '../../../src/core/version/versioned-object.js';
import { EMPTY_CONTEXT, type CausalContext } from '../../../src/core/version/context-token.js';
import { vvCovers } from '../../../src/core/version/version-vector.js';
import { RingkvError } from '../../../src/core/errors.js';

const limits = { siblingLimitCount: 100 };
const bytes = (s: string): SiblingValue => ({ kind: 'bytes', bytes: Buffer.from(s) });
const text = (o: VersionedObject): string[] => liveSiblings(o).map((s) => (s.value.kind === 'bytes' ? Buffer.from(s.value.bytes).toString() : s.value.kind)).sort();
let clock = 1000;
const hlc = () => ({ wallMs: ++clock, logical: 0 });
const write = (o: VersionedObject | undefined, ctx: CausalContext, actor: string, v: string): VersionedObject => applyWrite(o, ctx, actor, bytes(v), hlc(), limits);
const del = (o: VersionedObject | undefined, ctx: CausalContext, actor: string): VersionedObject => applyWrite(o, ctx, actor, { kind: 'tombstone' }, hlc(), limits);
const incr = (o: VersionedObject | undefined, actor: string, d: number): VersionedObject => applyIncrement(o, actor, BigInt(d), hlc(), limits);
const dotOf = (o: VersionedObject, v: string) => o.siblings.find((s) => s.value.kind === 'bytes' && Buffer.from(s.value.bytes).toString() === v)!.dot;

test('a blind write is concurrent with what exists; a write with the read context supersedes it', () => {
  const a = write(undefined, EMPTY_CONTEXT, 'n1#a', 'x');
  const b = write(a, EMPTY_CONTEXT, 'n1#a', 'y');
  assert.deepEqual(text(b), ['x', 'y']);
  const c = write(b, contextOfRead(b), 'n2#a', 'z');
  assert.deepEqual(text(c), ['z']);
});

test('a put context names only the version written, not its concurrent siblings', () => {
  const a = write(undefined, EMPTY_CONTEXT, 'n1#a', 'x');
  const b = write(a, EMPTY_CONTEXT, 'n1#a', 'y');
  const c = write(b, contextOfWrite(dotOf(b, 'y'), EMPTY_CONTEXT), 'n1#a', 'y2');
  assert.deepEqual(text(c), ['x', 'y2']);
});

// case 4 of the causality review: the context a PUT returns superseded its own write only where the
// write already was; a replica that had not received it kept both
test("a PUT's returned context supersedes that PUT's version on a replica that has not seen it yet", () => {
  const atN1 = write(undefined, EMPTY_CONTEXT, 'n1#a', 'v1');
  const ctx = contextOfWrite(dotOf(atN1, 'v1'), EMPTY_CONTEXT);
  const atN2 = write(undefined, ctx, 'n2#a', 'v2'); // n2 never received v1
  assert.ok(objectHasSeen(atN2, dotOf(atN1, 'v1')));
  assert.deepEqual(text(syncObjects(atN2, atN1)), ['v2']);
  assert.deepEqual(text(syncObjects(atN1, atN2)), ['v2']);
  // once the writer's vector arrives the single dot folds into it
  assert.equal(syncObjects(atN1, atN2).seen, undefined);
});

test('a delete with the read context hides the value; a concurrent put survives a delete', () => {
  const a = write(undefined, EMPTY_CONTEXT, 'n1#a', 'x');
  const d = del(a, contextOfRead(a), 'n2#a');
  assert.deepEqual(text(d), []);
  assert.equal(d.siblings.length, 0, 'a delete leaves no sibling: the vector records what it superseded');
  assert.ok(d.vv.some((e) => e.node === 'n2#a'), "the delete's own dot is in the vector");
  const concurrent = write(a, EMPTY_CONTEXT, 'n3#a', 'y');
  assert.deepEqual(text(syncObjects(d, concurrent)), ['y']);
});

test('the sibling limit refuses a write with a clear error', () => {
  let o: VersionedObject | undefined;
  const small = { siblingLimitCount: 3 };
  for (let i = 0; i < 3; i++) o = applyWrite(o, EMPTY_CONTEXT, 'n1#a', bytes(String(i)), hlc(), small);
  assert.throws(
    () => applyWrite(o, EMPTY_CONTEXT, 'n1#a', bytes('4'), hlc(), small),
    (e: unknown) => e instanceof RingkvError && e.code === 'TOO_MANY_SIBLINGS' && /limit of 3/.test(e.message),
  );
});

test('last writer wins by HLC, then writer id', () => {
  const s = (wallMs: number, logical: number, node: string) => ({ hlc: { wallMs, logical }, dot: { node, counter: 1 } });
  assert.equal(lastWriterWins([s(5, 0, 'a'), s(7, 0, 'a'), s(6, 3, 'z')])!.hlc.wallMs, 7);
  assert.equal(lastWriterWins([s(5, 1, 'a'), s(5, 1, 'b')])!.dot.node, 'b');
});

// case 1 of the causality review: a replica whose state went backwards minted a dot it had handed out
// before; the two versions were then "one version" and replicas diverged for ever
test('actorBehind: a context or object naming dots of the actor beyond the local copy means the copy went backwards', () => {
  const v1 = write(undefined, EMPTY_CONTEXT, 'n1#a', 'v1');
  const v2 = write(v1, EMPTY_CONTEXT, 'n1#a', 'v2');
  assert.equal(actorBehind(v2, contextOfRead(v2), 'n1#a'), false);
  assert.equal(actorBehind(v1, contextOfRead(v2), 'n1#a'), true, 'lost v2, but a client saw it');
  assert.equal(actorBehind(undefined, contextOfWrite(dotOf(v2, 'v2'), EMPTY_CONTEXT), 'n1#a'), true);
  assert.equal(actorBehind(v1, contextOfRead(v2), 'n1#b'), false, 'a fresh actor is never behind');
});

test('two versions under one dot (should a dot ever be reused) merge the same in both orders', () => {
  const a = write(undefined, EMPTY_CONTEXT, 'n1#a', 'first');
  const b = write(undefined, EMPTY_CONTEXT, 'n1#a', 'reused'); // same dot, later HLC
  assert.ok(sameVersion(syncObjects(a, b), syncObjects(b, a)));
  assert.deepEqual(text(syncObjects(a, b)), text(syncObjects(b, a)));
});

test('actorForKey: a key held nowhere here gets a fresh per-key actor; a held key keeps its newest own actor', () => {
  const h1 = { wallMs: 1_700_000_000_000, logical: 0 };
  const h2 = { wallMs: 1_700_000_000_500, logical: 3 };
  const fresh = actorForKey(undefined, 'n1#1abc', h1);
  assert.match(fresh, /^n1#1abc\./);
  assert.notEqual(actorForKey(undefined, 'n1#1abc', h2), fresh);
  assert.ok(actorForKey(undefined, 'n1#1abc', h2) > fresh, 'later per-key actors sort later');
  const created = write(undefined, EMPTY_CONTEXT, fresh, 'v');
  assert.equal(actorForKey(created, 'n1#1abc', h2), fresh, 'the creating actor keeps the key');
  assert.equal(actorForKey(created, 'n2#9zz', h2), 'n2#9zz', 'another node uses its base actor');
  const merged = syncObjects(write(created, EMPTY_CONTEXT, 'n1#1abc', 'old'), created);
  assert.equal(actorForKey(merged, 'n1#1abc', h2), fresh, 'a per-key actor wins over the base actor');
});

// the kv679 shape: a key deleted and reaped on some replicas comes back through a write while a
// replica that missed the reap still holds the old delete with this node's old dots
test('a key re-created after its delete was reaped is not lost against a stale copy of the delete', () => {
  const base = 'n1#1abc';
  let o = write(undefined, EMPTY_CONTEXT, actorForKey(undefined, base, hlc()), 'v1');
  o = write(o, contextOfRead(o), actorForKey(o, base, hlc()), 'v2');
  const deleted = del(o, contextOfRead(o), actorForKey(o, base, hlc()));
  const staleReplica = deleted; // missed the reap
  // reaped everywhere else: the next write finds no object
  const recreated = write(undefined, EMPTY_CONTEXT, actorForKey(undefined, base, hlc()), 'reborn');
  assert.deepEqual(text(syncObjects(recreated, staleReplica)), ['reborn']);
  assert.deepEqual(text(syncObjects(staleReplica, recreated)), ['reborn']);
  // whereas re-using the old actor would have lost it
  const reused = write(undefined, EMPTY_CONTEXT, deleted.vv[0].node, 'lost');
  assert.deepEqual(text(syncObjects(reused, staleReplica)), []);
});

// case 6 of the causality review: pruning the vector of a tombstone let a stale replica's value back
test('vectors are never pruned: a delete over 60 writers stays deleted against a stale replica', () => {
  let o: VersionedObject | undefined;
  for (let i = 0; i < 60; i++) o = write(o, o ? contextOfRead(o) : EMPTY_CONTEXT, `n${i}#a`, `v${i}`);
  const stale = o!;
  const deleted = del(stale, contextOfRead(stale), 'n99#a');
  assert.equal(deleted.vv.length, 61);
  assert.deepEqual(text(syncObjects(deleted, stale)), []);
  assert.deepEqual(text(syncObjects(stale, deleted)), []);
});

// ---- counters: PN totals per actor, observed-remove deletes -------------------------------------

// case 2 of the causality review: an INCR through a replica that missed a DEL brought the deleted total back
test('INCR after DEL counts from zero plus what the DEL did not see, through a stale replica', () => {
  let shared: VersionedObject | undefined;
  for (let i = 0; i < 5; i++) shared = incr(shared, 'n1#a', 1);
  assert.equal(counterValue(shared!), 5n);
  const staleN3 = shared!;
  const deletedAtN1 = del(shared, contextOfRead(shared!), 'n1#a');
  assert.equal(counterValue(deletedAtN1), undefined);
  const incrAtN3 = incr(staleN3, 'n3#a', 1);
  assert.equal(counterValue(syncObjects(incrAtN3, deletedAtN1)), 1n);
  assert.equal(counterValue(syncObjects(deletedAtN1, incrAtN3)), 1n);
  // and an INCR on the deleted copy itself
  assert.equal(counterValue(incr(deletedAtN1, 'n1#a', 1)), 1n);
});

test('a concurrent increment the DEL did not observe survives it', () => {
  const base = incr(undefined, 'n1#a', 3);
  const deleted = del(base, contextOfRead(base), 'n1#a');
  const concurrent = incr(base, 'n2#a', 4); // n2 had seen 3, then added 4: only the 4 is unobserved
  assert.equal(counterValue(syncObjects(deleted, concurrent)), 4n);
});

test('SET over a counter removes the increments its read observed; INCR then starts from the value', () => {
  const c = incr(undefined, 'n1#a', 7);
  const set = write(c, contextOfRead(c), 'n2#a', '10');
  assert.deepEqual(text(set), ['10']);
  const after = incr(set, 'n2#a', 1);
  assert.equal(counterValue(after), 11n);
  assert.throws(() => incr(write(after, contextOfRead(after), 'n1#a', 'x'), 'n1#a', 1), (e: unknown) => e instanceof RingkvError && e.code === 'NOT_AN_INTEGER');
});

/**
 * Random histories over three replicas with fresh actors: writes (blind, with a replica's read
 * context, or with the context an earlier PUT returned), deletes with a read context, and full-object
 * syncs. Whatever the interleaving, merge is commutative, associative and idempotent, sibling sets are
 * antichains, every write not superseded by a context that saw it survives a full sync, and nothing
 * superseded comes back.
 */
type Op =
  | { kind: 'write'; at: number; ctx: { from: 'none' } | { from: 'read'; replica: number } | { from: 'put'; back: number } }
  | { kind: 'delete'; at: number; replica: number }
  | { kind: 'sync'; from: number; to: number };
const replicaArb = fc.integer({ min: 0, max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      at: replicaArb,
      ctx: fc.oneof(
        fc.constant({ from: 'none' as const }),
        fc.record({ from: fc.constant('read' as const), replica: replicaArb }),
        fc.record({ from: fc.constant('put' as const), back: fc.integer({ min: 1, max: 4 }) }),
      ),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), at: replicaArb, replica: replicaArb }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('sync' as const), from: replicaArb, to: replicaArb }), weight: 4 },
);

function runHistory(ops: Op[]) {
  const replicas: VersionedObject[] = [{ vv: [], siblings: [] }, { vv: [], siblings: [] }, { vv: [], siblings: [] }];
  const written: string[] = [];
  const superseded = new Set<string>();
  // what each PUT's returned context covers: the values its own context saw, plus its own value
  const puts: Array<{ ctx: CausalContext; covers: string[] }> = [];
  ops.forEach((op, i) => {
    if (op.kind === 'sync') {
      replicas[op.to] = syncObjects(replicas[op.to], replicas[op.from]);
      return;
    }
    const actor = `n${op.at + 1}#x`;
    let ctx: CausalContext = EMPTY_CONTEXT;
    let covers: string[] = [];
    const readFrom = op.kind === 'delete' ? op.replica : op.ctx.from === 'read' ? op.ctx.replica : undefined;
    if (readFrom !== undefined) {
      ctx = contextOfRead(replicas[readFrom]);
      covers = text(replicas[readFrom]);
    } else if (op.kind === 'write' && op.ctx.from === 'put' && puts.length >= op.ctx.back) {
      ({ ctx, covers } = puts[puts.length - op.ctx.back]);
    }
    for (const v of covers) superseded.add(v);
    if (op.kind === 'delete') {
      replicas[op.at] = del(replicas[op.at], ctx, actor);
    } else {
      const value = `v${i}`;
      replicas[op.at] = write(replicas[op.at], ctx, actor, value);
      written.push(value);
      puts.push({ ctx: contextOfWrite(dotOf(replicas[op.at], value), ctx), covers: [...covers, value] });
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
        for (const s of o.siblings) assert.ok(vvCovers(o.vv, s.dot), 'every held dot is covered by the vector');
        for (const d of o.seen ?? []) assert.ok(!vvCovers(o.vv, d), 'seen dots are outside the vector');
        const dots = o.siblings.map((s) => `${s.dot.node}:${s.dot.counter}`);
        assert.equal(new Set(dots).size, dots.length);
      }
    }),
    { numRuns: 400 },
  );
});

test('no write is lost and nothing superseded comes back, PUT-returned contexts and deletes included', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const { replicas, written, superseded } = runHistory(ops);
      const all = syncObjects(syncObjects(replicas[0], replicas[1]), replicas[2]);
      const present = new Set(text(all));
      for (const v of written) if (!superseded.has(v)) assert.ok(present.has(v), `write ${v} lost`);
      for (const v of present) assert.ok(!superseded.has(v), `superseded ${v} resurrected`);
    }),
    { numRuns: 400 },
  );
});

/**
 * Counters: random increments and read-deletes at three replicas with syncs in between. After a full
 * sync the value is exactly the sum of the increments no delete observed (an increment is observed by
 * a delete whose read state held it: its actor's total there reached the increment's running total).
 */
type CounterOp = { kind: 'incr'; at: number; delta: number } | { kind: 'delete'; at: number; replica: number } | { kind: 'sync'; from: number; to: number };
const counterOpArb: fc.Arbitrary<CounterOp> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('incr' as const), at: replicaArb, delta: fc.integer({ min: -3, max: 5 }) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), at: replicaArb, replica: replicaArb }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('sync' as const), from: replicaArb, to: replicaArb }), weight: 4 },
);

test('observed-remove counters: after a full sync the value is the sum of the increments no delete saw', () => {
  fc.assert(
    fc.property(fc.array(counterOpArb, { maxLength: 40 }), (ops) => {
      const replicas: Array<VersionedObject | undefined> = [undefined, undefined, undefined];
      // per replica, which increments (by index) its state includes
      const holds: Array<Set<number>> = [new Set(), new Set(), new Set()];
      const deltas: number[] = [];
      const observed = new Set<number>();
      for (const op of ops) {
        if (op.kind === 'sync') {
          if (replicas[op.from]) replicas[op.to] = replicas[op.to] ? syncObjects(replicas[op.to]!, replicas[op.from]!) : replicas[op.from];
          for (const i of holds[op.from]) holds[op.to].add(i);
        } else if (op.kind === 'incr') {
          replicas[op.at] = incr(replicas[op.at], `n${op.at + 1}#x`, op.delta);
          holds[op.at].add(deltas.length);
          deltas.push(op.delta);
        } else {
          const read = replicas[op.replica];
          if (!read) continue;
          for (const i of holds[op.replica]) observed.add(i);
          replicas[op.at] = del(replicas[op.at], contextOfRead(read), `n${op.at + 1}#x`);
          for (const i of holds[op.replica]) holds[op.at].add(i);
        }
      }
      const present = replicas.filter((r): r is VersionedObject => r !== undefined);
      if (present.length === 0) return;
      const all = present.reduce((x, y) => syncObjects(x, y));
      const expected = deltas.reduce((sum, d, i) => (observed.has(i) ? sum : sum + d), 0);
      const got = counterValue(all) ?? 0n;
      // a counter whose every increment was deleted reads as absent (0)
      assert.equal(got, BigInt(expected), `deltas ${JSON.stringify(deltas)} observed ${JSON.stringify([...observed])}`);
    }),
    { numRuns: 500 },
  );
});
