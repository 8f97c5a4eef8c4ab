import test from 'node:test';
import assert from 'node:assert/strict';
import { AckWithoutDeliveringTransport, brokenTreeUpdates, DroppingEngine, RewritingTransport, skipHintReplay, transfersWithoutPulling } from '../../src/sim/planted-bugs.js';
import { ACK } from '../../src/cluster/messages.js';
import type { Transport } from '../../src/cluster/runtime.js';
import type { Engine } from '../../src/storage/engine.js';
import { formatFailure, SCENARIOS, type ScenarioOptions, type ScenarioResult } from '../../src/sim/scenarios.js';

/** The checkers must be able to fail: plant a bug, expect some seed to catch it. */
async function firstFailure(scenario: string, options: ScenarioOptions, maxSeeds: number): Promise<ScenarioResult | undefined> {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const result = await SCENARIOS[scenario](seed, options);
    if (result.violations.length > 0) return result;
  }
  return undefined;
}

/** the named checker must be among those that fired (a bug caught for another reason proves nothing about it) */
function assertCaughtBy(caught: ScenarioResult | undefined, checker: string, what: string): asserts caught is ScenarioResult {
  assert.ok(caught, `no seed caught ${what}`);
  const fired = [...new Set(caught.violations.map((v) => v.checker))];
  assert.ok(fired.includes(checker), `seed ${caught.seed} caught ${what}, but through ${fired.join(', ')} instead of ${checker}`);
}

test('an engine that drops every 5th put while reporting success is caught', async () => {
  const caught = await firstFailure('main', { nodeKind: 'reference', wrapEngine: (_id, engine) => new DroppingEngine(engine, 5) }, 30);
  assertCaughtBy(caught, 'acknowledged-writes-visible', 'the lying engine');
  const report = formatFailure(caught);
  assert.match(report, new RegExp(`npm run sim -- --seed ${caught.seed} --scenario main`));
});

test('one node acknowledging replica writes without sending them is caught', async () => {
  const caught = await firstFailure(
    'main',
    {
      nodeKind: 'reference',
      wrapTransport: (id, t) => (id === 'n1' ? new AckWithoutDeliveringTransport(t, (_to, msg) => msg.type === 'ref_write', { type: 'ref_ack' }) : t),
    },
    30,
  );
  assertCaughtBy(caught, 'acknowledged-writes-visible', 'the fake acknowledgements');
});

test('the sibling scenario catches a lying engine', async () => {
  const caught = await firstFailure('siblings', { nodeKind: 'reference', wrapEngine: (_id, engine) => new DroppingEngine(engine, 3) }, 40);
  assertCaughtBy(caught, 'siblings', 'the lying engine');
});

test('ClusterNode: one node whose engine drops every 5th put is caught', async () => {
  const caught = await firstFailure(
    'main',
    { wrapEngine: (id, engine) => (id === 'n1' ? new DroppingEngine(engine, 5) : engine) },
    40,
  );
  assertCaughtBy(caught, 'acknowledged-writes-visible', 'the lying engine');
  assert.ok(caught.violations.every((v) => v.checker !== 'reads-return-written-values'), 'caught for the wrong reason');
});

test('ClusterNode: one node acknowledging replicate requests without sending them is caught', async () => {
  const caught = await firstFailure(
    'siblings',
    {
      wrapTransport: (id, t) => (id === 'n1' ? new AckWithoutDeliveringTransport(t, (_to, msg) => msg.type === 'replicate', ACK) : t),
    },
    30,
  );
  assertCaughtBy(caught, 'acknowledged-writes-visible', 'the fake acknowledgements');
});

test('a delete that forgets its context is caught by deletes-stay-deleted and by counter-bounds', async () => {
  // the reference node's DEL sends ref_write with value null, no delta, and the read's dots as context
  const forgetful = (_id: string, t: Transport): Transport =>
    new RewritingTransport(t, (_to, msg) => (msg.type === 'ref_write' && msg.value === null && msg.delta === undefined ? { ...msg, context: [] } : msg));
  const values = await firstFailureFor('main', 'deletes-stay-deleted', { nodeKind: 'reference', wrapTransport: forgetful }, 60);
  assert.ok(values, 'no seed of main caught deletes coming back');
  const counters = await firstFailureFor('counters-delete', 'counter-bounds', { nodeKind: 'reference', wrapTransport: forgetful }, 60);
  assert.ok(counters, 'no seed of counters-delete caught deleted increments coming back');
});

test('replicas that are never repaired stay divergent: caught by convergence', async () => {
  // the reference node repairs replicas only by read repair: drop it
  const noRepair = (_id: string, t: Transport): Transport => new RewritingTransport(t, (_to, msg, kind) => (kind === 'one-way' && msg.type === 'ref_merge' ? undefined : msg));
  assert.ok(await firstFailureFor('main', 'convergence', { nodeKind: 'reference', wrapTransport: noRepair }, 40), 'no seed caught the missing read repair');
  // ClusterNode heals a replica by replication, read repair (remote and local) and anti-entropy: only
  // an engine that silently stores nothing on one node defeats them all
  const amnesiac = (id: string, engine: Engine): Engine => (id === 'n1' ? new DroppingEngine(engine, 1) : engine);
  assert.ok(await firstFailureFor('main', 'convergence', { wrapEngine: amnesiac }, 20), 'ClusterNode: no seed caught a replica that stores nothing');
});

// the membership and self-healing families: each planted bug caught by the family built for it

test('hint replay skipped (hints deleted as delivered, never sent) is caught by convergence-without-reads', async () => {
  assertCaughtBy(await firstFailureFor('hinted-handoff', 'convergence-without-reads', { wrapTransport: skipHintReplay }, 10), 'convergence-without-reads', 'the skipped hint replay');
});

test('anti-entropy trees not updated on write are caught by convergence-without-reads', async () => {
  assertCaughtBy(await firstFailureFor('aae-rebuild', 'convergence-without-reads', { createNode: brokenTreeUpdates }, 20), 'convergence-without-reads', 'the broken tree update');
});

test('a transfer that reports done without pulling is caught by transfers-complete', async () => {
  const caught = await firstFailureFor('membership', 'transfers-complete', { createNode: transfersWithoutPulling }, 40);
  assertCaughtBy(caught, 'transfers-complete', 'the transfer that pulls nothing');
  assert.match(formatFailure(caught), new RegExp(`npm run sim -- --seed ${caught.seed} --scenario membership`));
});

/** the first seed on which `checker` fires */
async function firstFailureFor(scenario: string, checker: string, options: ScenarioOptions, maxSeeds: number): Promise<ScenarioResult | undefined> {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const result = await SCENARIOS[scenario](seed, options);
    if (result.violations.some((v) => v.checker === checker)) return result;
  }
  return undefined;
}
