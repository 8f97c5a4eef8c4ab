import test from 'node:test';
import assert from 'node:assert/strict';
import { NodeIdentity, HLC_CEILING_STEP_MS } from '../../src/cluster/node-identity.js';
import type { NodeStateStore } from '../../src/cluster/runtime.js';
import { MemoryEngine } from '../../src/storage/memory-engine.js';

class MemoryStateStore implements NodeStateStore {
  bytes: Uint8Array | undefined;
  writes = 0;
  async read() {
    return this.bytes;
  }
  async write(b: Uint8Array) {
    this.writes++;
    this.bytes = Uint8Array.from(b);
  }
}
let n = 1;
const random = () => ({ next: () => 0.5, int: (max: number) => (n = (n * 48271) % 2147483647) % max });

test('a first start takes a new actor; a clean restart keeps it; an unclean one does not', async () => {
  const store = new MemoryStateStore();
  const first = await NodeIdentity.open({ self: 'n1', store, random: random() });
  assert.match(first.actor, /^n1#1[0-9a-z]{6}$/);
  assert.equal(first.incarnation, 1);
  await first.closeClean();
  const clean = await NodeIdentity.open({ self: 'n1', store, random: random() });
  assert.equal(clean.actor, first.actor);
  assert.equal(clean.incarnation, 2);
  // no closeClean: a crash
  const afterCrash = await NodeIdentity.open({ self: 'n1', store, random: random() });
  assert.notEqual(afterCrash.actor, first.actor);
  assert.match(afterCrash.openReason, /unclean/);
  assert.equal(afterCrash.incarnation, 3);
});

test('a replaced or damaged data directory means a new actor', async () => {
  const store = new MemoryStateStore();
  const a = await NodeIdentity.open({ self: 'n1', store, random: random() });
  await a.closeClean();
  store.bytes = Uint8Array.from([1, 2, 3]);
  const b = await NodeIdentity.open({ self: 'n1', store, random: random() });
  assert.notEqual(b.actor, a.actor);
  const c = await NodeIdentity.open({ self: 'n1', store: new MemoryStateStore(), random: random() });
  assert.notEqual(c.actor, a.actor);
  assert.match(c.openReason, /new or replaced/);
});

test('engine data loss, at open or while running, retires the actor', async () => {
  const store = new MemoryStateStore();
  const engine = new MemoryEngine() as MemoryEngine & { dataLossCount(): number };
  let lost = 0;
  engine.dataLossCount = () => lost;
  const a = await NodeIdentity.open({ self: 'n1', store, random: random(), engine });
  const actor = a.currentActor();
  assert.equal(a.currentActor(), actor);
  lost = 1; // a corrupt table set aside while running
  assert.notEqual(a.currentActor(), actor);
  assert.equal(a.retirements, 1);
  await a.closeClean();
  const b = await NodeIdentity.open({ self: 'n1', store, random: random(), engine });
  assert.match(b.openReason, /engine lost data/);
});

test('HLC ceiling: reserved durably ahead of use, a second at a time; a restart starts above it', async () => {
  const store = new MemoryStateStore();
  const a = await NodeIdentity.open({ self: 'n1', store, random: random() });
  const writes = store.writes;
  await a.reserveHlc(5_000);
  assert.equal(a.hlcFloorMs, 5_000 + HLC_CEILING_STEP_MS);
  assert.equal(a.reserveHlc(5_500), undefined, 'inside the reserved second: no write');
  assert.equal(store.writes, writes + 1);
  const b = await NodeIdentity.open({ self: 'n1', store, random: random() });
  assert.ok(b.hlcFloorMs >= 5_500);
});
