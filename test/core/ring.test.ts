import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildRing, partitionsMoved, BALANCE_TOLERANCE, type Ring } from '../../src/core/ring.js';
import { countBands } from '../../src/core/ring-claim.js';
import { keyBytes, partitionOf } from '../../src/core/hash.js';
import { RingkvError } from '../../src/core/errors.js';
import type { Member } from '../../src/core/member.js';

const Q = 256;

function member(id: string, weight = 1, zone?: string): Member {
  return zone === undefined ? { id, address: `${id}:9000`, weight } : { id, address: `${id}:9000`, weight, zone };
}

function nodes(count: number, prefix = 'n'): Member[] {
  return Array.from({ length: count }, (_, i) => member(`${prefix}${i + 1}`));
}

function isBadParameter(e: unknown): boolean {
  return e instanceof RingkvError && e.code === 'BAD_PARAMETER';
}

/** |count - fair| <= 10% of fair (or < 1 partition, for shares too small to hit 10%). */
function assertBalanced(ring: Ring, weights: ReadonlyMap<string, number>): void {
  let total = 0;
  for (const w of weights.values()) total += w;
  for (const [id, count] of ring.ownedCounts()) {
    const fair = (ring.partitions * (weights.get(id) ?? NaN)) / total;
    const allowed = Math.max(fair * BALANCE_TOLERANCE, 1);
    assert.ok(Math.abs(count - fair) <= allowed + 1e-9, `${id} owns ${count}, fair share ${fair.toFixed(2)}`);
  }
}

/** Seeded id generator, so "random" clusters are the same on every run. */
function randomIds(seed: number, count: number): string[] {
  let s = seed >>> 0;
  const ids = new Set<string>();
  while (ids.size < count) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    ids.add(`node-${s.toString(36)}`);
  }
  return [...ids];
}

test('balance: 1..16 equal-weight nodes each own within 10% of their fair share at Q=256', () => {
  for (let count = 1; count <= 16; count++) {
    for (const prefix of ['n', 'host-', 'z']) {
      const members = nodes(count, prefix);
      const ring = buildRing(members, Q);
      assert.equal(ring.partitions, Q);
      assert.equal(ring.owners().length, Q);
      assertBalanced(ring, new Map(members.map((m) => [m.id, 1])));
    }
  }
  for (let seed = 1; seed <= 20; seed++) {
    const ids = randomIds(seed, 3 + (seed % 14));
    const ring = buildRing(ids.map((id) => member(id)), Q);
    assertBalanced(ring, new Map(ids.map((id) => [id, 1])));
  }
});

test('weights: partitions are claimed in proportion to weight (within 10%)', () => {
  const cases: Array<Array<[string, number]>> = [
    [['a', 2], ['b', 1], ['c', 1]],
    [['a', 2], ['b', 1], ['c', 1], ['d', 1], ['e', 1]],
    [['big', 3], ['mid', 2], ['s1', 1], ['s2', 1], ['s3', 1]],
    [['x', 0.5], ['y', 1.5], ['z', 1]],
  ];
  for (const weights of cases) {
    const ring = buildRing(weights.map(([id, w]) => member(id, w)), Q);
    assertBalanced(ring, new Map(weights));
  }
  // The weight-2 node owns about twice what a weight-1 node owns.
  const ring = buildRing([member('heavy', 2), ...nodes(4)], Q);
  const counts = ring.ownedCounts();
  const heavy = counts.get('heavy') ?? 0;
  const light = [...counts].filter(([id]) => id !== 'heavy').map(([, c]) => c);
  const lightMean = light.reduce((s, c) => s + c, 0) / light.length;
  assert.ok(Math.abs(heavy / lightMean - 2) <= 0.2 * 2, `heavy ${heavy} vs light mean ${lightMean}`);
});

test('member order does not matter (property): same members in any order give the same ring', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 }),
      fc.constantFrom(16, 64, 256),
      fc.integer({ min: 0, max: 1000 }),
      (ids, q, salt) => {
        const members = ids.map((id, i) => member(id, 1 + ((i * 7 + salt) % 3), i % 2 === 0 ? `zone-${i % 3}` : undefined));
        const shuffled = [...members].sort((a, b) => ((hashish(a.id) ^ salt) - (hashish(b.id) ^ salt)) || (a.id < b.id ? -1 : 1));
        const a = buildRing(members, q);
        const b = buildRing(shuffled, q);
        assert.deepEqual(a.owners(), b.owners());
        assert.equal(a.fingerprint, b.fingerprint);
        assert.deepEqual(a.toJSON(), b.toJSON());
        assert.deepEqual(a.preferenceList(0, 3), b.preferenceList(0, 3));
        assert.equal(partitionsMoved(a, b), 0);
      },
    ),
    { numRuns: 60, seed: 7 },
  );
});

function hashish(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

test('the claim is pinned: a change here moves data between nodes of a running cluster on upgrade', () => {
  // If this fails, partition placement changed. Only update it deliberately, with a migration plan.
  const ring = buildRing(nodes(5), 16);
  assert.deepEqual(ring.owners(), ['n3', 'n5', 'n2', 'n4', 'n5', 'n2', 'n3', 'n2', 'n4', 'n1', 'n5', 'n1', 'n2', 'n4', 'n3', 'n1']);
  const weighted = buildRing(
    Array.from({ length: 16 }, (_, i) => member(`n${i + 1}`, 1 + (i % 3), `z${i % 4}`)),
    Q,
  );
  assert.equal(weighted.fingerprint, '0863fc8c9473864bb903c92e1a3d5470');
});

test('ring depends only on id, weight and zone: addresses do not move data', () => {
  const a = buildRing(nodes(5), Q);
  const b = buildRing(nodes(5).map((m) => ({ ...m, address: '10.0.0.9:1', httpAddress: 'x:1' })), Q);
  assert.deepEqual(a.owners(), b.owners());
  assert.equal(a.fingerprint, b.fingerprint);
  const c = buildRing(nodes(5).map((m, i) => (i === 0 ? { ...m, weight: 2 } : m)), Q);
  assert.notEqual(a.fingerprint, c.fingerprint);
});

/**
 * Movement on a join n -> n+1 (or the reverse leave) compared with the ideal Q/(n+1). The ring is a
 * pure function of the member set, so it cannot remember the previous layout; keeping every node
 * within its 10% band costs extra moves between old nodes that grow with cluster size. Measured over
 * 100 random clusters per size at Q=256 (mean / max of moved/ideal): 3 nodes 1.01/1.13,
 * 4 nodes 1.01/1.20, 5 nodes 1.06/1.31, 8 nodes 1.11/1.34, 11 nodes 1.29/1.55, 16 nodes 1.48/1.88.
 * So the 1.2x bound is a typical-case property of small clusters, not a guarantee; the tests pin
 * the cases below so that a regression shows.
 */
function movementRatio(before: Member[], after: Member[]): number {
  const moved = partitionsMoved(buildRing(before, Q), buildRing(after, Q));
  const larger = Math.max(before.length, after.length);
  return moved / (Q / larger);
}

test('minimal movement: joining a small cluster (2..4 -> 3..5 nodes) moves at most 1.2x the ideal', () => {
  for (let count = 2; count <= 4; count++) {
    const before = nodes(count);
    const after = nodes(count + 1);
    const ratio = movementRatio(before, after);
    assert.ok(ratio <= 1.2, `join ${count}->${count + 1}: moved ${ratio.toFixed(3)}x the ideal`);
  }
  for (let seed = 1; seed <= 12; seed++) {
    const ids = randomIds(seed * 101, 5);
    const count = 2 + (seed % 3);
    const before = ids.slice(0, count).map((id) => member(id));
    const after = ids.slice(0, count + 1).map((id) => member(id));
    const ratio = movementRatio(before, after);
    assert.ok(ratio <= 1.2, `seed ${seed} join ${count}->${count + 1}: moved ${ratio.toFixed(3)}x the ideal`);
  }
});

test('minimal movement: leaving a small cluster (3..5 -> 2..4 nodes) moves at most 1.2x the ideal', () => {
  for (let count = 3; count <= 5; count++) {
    for (let leaver = 0; leaver < count; leaver++) {
      const before = nodes(count);
      const after = before.filter((_, i) => i !== leaver);
      const ratio = movementRatio(before, after);
      assert.ok(ratio <= 1.2, `leave of n${leaver + 1} from ${count}: moved ${ratio.toFixed(3)}x the ideal`);
    }
  }
});

test('movement stays bounded for clusters of 6..16 nodes (these joins and leaves: <= 2x the ideal, mean <= 1.6x)', () => {
  const ratios: number[] = [];
  for (let count = 5; count <= 15; count++) {
    const before = nodes(count);
    const after = nodes(count + 1);
    ratios.push(movementRatio(before, after));
    ratios.push(movementRatio(after, after.filter((_, i) => i !== (count * 7) % (count + 1))));
  }
  for (const r of ratios) assert.ok(r <= 2, `ratio ${r.toFixed(3)}`);
  const mean = ratios.reduce((s, r) => s + r, 0) / ratios.length;
  assert.ok(mean <= 1.6, `mean ratio ${mean.toFixed(3)}`);
});

test('joins only give the new node partitions it wins or that balance needs; the rest stay put', () => {
  const before = buildRing(nodes(8), Q);
  const after = buildRing(nodes(9), Q);
  const newcomer = 'n9';
  let toNewcomer = 0;
  for (let p = 0; p < Q; p++) {
    if (before.ownerOf(p) !== after.ownerOf(p) && after.ownerOf(p) === newcomer) toNewcomer++;
  }
  const counts = after.ownedCounts();
  assert.equal(toNewcomer, counts.get(newcomer));
  // most of the movement is to the new node
  assert.ok(toNewcomer / partitionsMoved(before, after) >= 0.6);
});

test('preference lists: distinct nodes, owner first, primaries = min(n, nodes), fallbacks = the rest in walk order', () => {
  for (const count of [1, 2, 3, 5, 8]) {
    const ring = buildRing(nodes(count), 64);
    for (const n of [1, 3, 5]) {
      for (let p = 0; p < ring.partitions; p++) {
        const { primaries, fallbacks } = ring.preferenceList(p, n);
        const all = [...primaries, ...fallbacks];
        assert.equal(primaries.length, Math.min(n, count));
        assert.equal(all.length, count);
        assert.equal(new Set(all).size, count, 'distinct nodes');
        assert.equal(primaries[0], ring.ownerOf(p));
        // walk order: the k-th distinct owner met clockwise
        const walk: string[] = [];
        for (let step = 0; step < ring.partitions && walk.length < count; step++) {
          const owner = ring.ownerOf((p + step) % ring.partitions);
          if (!walk.includes(owner)) walk.push(owner);
        }
        assert.deepEqual(all, walk);
      }
    }
  }
});

test('preference lists honour zones: with >= n zones the primaries are in n distinct zones', () => {
  const zoned = [
    member('a1', 1, 'za'),
    member('a2', 1, 'za'),
    member('a3', 1, 'za'),
    member('b1', 1, 'zb'),
    member('b2', 1, 'zb'),
    member('c1', 1, 'zc'),
    member('c2', 1, 'zc'),
    member('c3', 1, 'zc'),
  ];
  const zoneOf = new Map(zoned.map((m) => [m.id, m.zone]));
  const ring = buildRing(zoned, Q);
  let walkWouldRepeatZone = 0;
  for (let p = 0; p < Q; p++) {
    const { primaries, fallbacks } = ring.preferenceList(p, 3);
    assert.equal(primaries.length, 3);
    assert.equal(new Set(primaries.map((id) => zoneOf.get(id))).size, 3, `partition ${p}: ${primaries.join(',')}`);
    assert.equal(primaries[0], ring.ownerOf(p));
    assert.equal(new Set([...primaries, ...fallbacks]).size, zoned.length);
    const plain = ring.preferenceList(p, 8).primaries.slice(0, 3);
    if (new Set(plain.map((id) => zoneOf.get(id))).size < 3) walkWouldRepeatZone++;
  }
  // the zone rule did real work: a plain clockwise walk would often have put two replicas in one zone
  assert.ok(walkWouldRepeatZone > 0);

  // Two zones, n = 3: both zones used, then a third distinct node.
  const two = buildRing([member('a1', 1, 'za'), member('a2', 1, 'za'), member('b1', 1, 'zb'), member('b2', 1, 'zb')], 64);
  for (let p = 0; p < 64; p++) {
    const { primaries } = two.preferenceList(p, 3);
    assert.equal(new Set(primaries).size, 3);
    assert.equal(new Set(primaries.map((id) => id[0])).size, 2);
  }

  // Zone-less members among zoned ones count as zones of their own.
  const mixed = buildRing([member('a1', 1, 'za'), member('a2', 1, 'za'), member('loner')], 64);
  for (let p = 0; p < 64; p++) {
    const { primaries } = mixed.preferenceList(p, 2);
    assert.ok(primaries.includes('loner'), `partition ${p}: ${primaries.join(',')}`);
  }
});

test('preferenceListForKey, partitionForKey and preferenceLists agree with partitionOf', () => {
  const ring = buildRing(nodes(6), Q);
  for (const key of ['a', 'user:1', 'ключ', '']) {
    const p = partitionOf(keyBytes(key), Q);
    assert.equal(ring.partitionForKey(key), p);
    assert.equal(ring.partitionForKey(keyBytes(key)), p);
    assert.deepEqual(ring.preferenceListForKey(key, 3), ring.preferenceList(p, 3));
  }
  const all = ring.preferenceLists(3);
  assert.equal(all.length, Q);
  assert.deepEqual(all[17], ring.preferenceList(17, 3));
  const described = ring.describe(3);
  assert.equal(described.n, 3);
  assert.equal(described.preferenceLists.length, Q);
  assert.deepEqual(JSON.parse(JSON.stringify(ring)), ring.toJSON());
});

test('toJSON has partitions, members sorted by id, and owners', () => {
  const ring = buildRing([member('b', 2, 'z1'), member('a')], 16);
  const json = ring.toJSON();
  assert.equal(json.partitions, 16);
  assert.deepEqual(json.members, [
    { id: 'a', weight: 1 },
    { id: 'b', zone: 'z1', weight: 2 },
  ]);
  assert.equal(json.owners.length, 16);
  assert.deepEqual(json.owners, [...ring.owners()]);
});

test('ownership helpers: partitionsOwnedBy, partitionsReplicatedBy, ownedCounts, hasMember', () => {
  const ring = buildRing(nodes(5), 128);
  let total = 0;
  for (const id of ring.nodeIds) {
    const owned = ring.partitionsOwnedBy(id);
    total += owned.length;
    assert.equal(owned.length, ring.ownedCounts().get(id));
    for (const p of owned) assert.equal(ring.ownerOf(p), id);
    const replicated = ring.partitionsReplicatedBy(id, 3);
    for (const p of owned) assert.ok(replicated.includes(p));
    for (const p of replicated) assert.ok(ring.preferenceList(p, 3).primaries.includes(id));
  }
  assert.equal(total, 128);
  const replicaSlots = ring.nodeIds.reduce((s, id) => s + ring.partitionsReplicatedBy(id, 3).length, 0);
  assert.equal(replicaSlots, 128 * 3);
  assert.equal(ring.hasMember('n1'), true);
  assert.equal(ring.hasMember('nope'), false);
  assert.deepEqual(ring.partitionsOwnedBy('nope'), []);
});

test('more nodes than partitions: every node still appears in preference lists', () => {
  const ring = buildRing(nodes(10), 4);
  const counts = [...ring.ownedCounts().values()];
  assert.equal(counts.reduce((s, c) => s + c, 0), 4);
  assert.ok(Math.max(...counts) <= 1);
  const { primaries, fallbacks } = ring.preferenceList(0, 3);
  assert.equal(new Set([...primaries, ...fallbacks]).size, 10);
});

test('bad parameters are rejected with BAD_PARAMETER', () => {
  for (const q of [0, 3, 100, 255, -1, 1.5, 2 ** 17]) assert.throws(() => buildRing(nodes(3), q), isBadParameter, `Q=${q}`);
  assert.throws(() => buildRing([], Q), isBadParameter);
  assert.throws(() => buildRing([member('a'), member('a')], Q), isBadParameter);
  assert.throws(() => buildRing([member('')], Q), isBadParameter);
  for (const w of [0, -1, NaN, Infinity]) assert.throws(() => buildRing([member('a', w)], Q), isBadParameter, `weight ${w}`);
  const ring = buildRing(nodes(3), 16);
  assert.throws(() => ring.ownerOf(16), isBadParameter);
  assert.throws(() => ring.ownerOf(-1), isBadParameter);
  assert.throws(() => ring.ownerOf(1.5), isBadParameter);
  assert.throws(() => ring.preferenceList(0, 0), isBadParameter);
  assert.throws(() => partitionsMoved(ring, buildRing(nodes(3), 32)), isBadParameter);
});

test('countBands always contains floor and ceil of the fair share and is feasible', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 1, maxLength: 40 }), fc.constantFrom(1, 8, 256, 4096), (weights, q) => {
      const bands = countBands(weights, q);
      let lows = 0;
      let highs = 0;
      for (const b of bands) {
        assert.ok(b.low <= Math.floor(b.fairShare) && b.high >= Math.ceil(b.fairShare) - 1e-9);
        assert.ok(b.low >= 0 && b.high <= q);
        lows += b.low;
        highs += b.high;
      }
      assert.ok(lows <= q && highs >= q);
    }),
    { numRuns: 200, seed: 3 },
  );
});

test('every ring is a complete, valid assignment for random clusters (property)', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,10}$/), { minLength: 1, maxLength: 20 }),
      fc.constantFrom(8, 64, 256),
      (ids, q) => {
        const ring = buildRing(ids.map((id) => member(id)), q);
        const counts = ring.ownedCounts();
        let total = 0;
        for (const id of ids) total += counts.get(id) ?? 0;
        assert.equal(total, q);
        const bands = countBands(ids.map(() => 1), q);
        [...counts.values()].forEach((c, i) => assert.ok(c >= bands[i].low && c <= bands[i].high));
      },
    ),
    { numRuns: 80, seed: 11 },
  );
});
