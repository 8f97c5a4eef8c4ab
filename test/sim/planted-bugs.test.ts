import test from 'node:test';
import assert from 'node:assert/strict';
import { AckWithoutDeliveringTransport, DroppingEngine } from '../../src/sim/planted-bugs.js';
import { ACK } from '../../src/cluster/messages.js';
import { clusterNodeFactory } from '../../src/sim/cluster-node-factory.js';
import { referenceNodeFactory } from '../../src/sim/reference-kv-node.js';
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
  const caught = await firstFailure('main', { createNode: referenceNodeFactory, nodeKind: 'reference', wrapEngine: (_id, engine) => new DroppingEngine(engine, 5) }, 30);
  assertCaughtBy(caught, 'acknowledged-writes-visible', 'the lying engine');
  const report = formatFailure(caught);
  assert.match(report, new RegExp(`npm run sim -- --seed ${caught.seed} --scenario main`));
});

test('one node acknowledging replica writes without sending them is caught', async () => {
  const caught = await firstFailure(
    'main',
    {
      createNode: referenceNodeFactory,
      wrapTransport: (id, t) => (id === 'n1' ? new AckWithoutDeliveringTransport(t, (_to, msg) => msg.type === 'ref_write', { type: 'ref_ack' }) : t),
    },
    30,
  );
  assertCaughtBy(caught, 'acknowledged-writes-visible', 'the fake acknowledgements');
});

test('the sibling scenario catches a lying engine', async () => {
  const caught = await firstFailure('siblings', { createNode: referenceNodeFactory, nodeKind: 'reference', wrapEngine: (_id, engine) => new DroppingEngine(engine, 3) }, 40);
  assertCaughtBy(caught, 'siblings', 'the lying engine');
});

test('ClusterNode: one node whose engine drops every 5th put is caught', async () => {
  const caught = await firstFailure(
    'main',
    { createNode: clusterNodeFactory, wrapEngine: (id, engine) => (id === 'n1' ? new DroppingEngine(engine, 5) : engine) },
    40,
  );
  assertCaughtBy(caught, 'acknowledged-writes-visible', 'the lying engine');
  assert.ok(caught.violations.every((v) => v.checker !== 'reads-return-written-values'), 'caught for the wrong reason');
});

test('ClusterNode: one node acknowledging replicate requests without sending them is caught', async () => {
  const caught = await firstFailure(
    'siblings',
    {
      createNode: clusterNodeFactory,
      wrapTransport: (id, t) => (id === 'n1' ? new AckWithoutDeliveringTransport(t, (_to, msg) => msg.type === 'replicate', ACK) : t),
    },
    30,
  );
  assertCaughtBy(caught, 'acknowledged-writes-visible', 'the fake acknowledgements');
});
