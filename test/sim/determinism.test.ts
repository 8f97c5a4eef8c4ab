import test from 'node:test';
import assert from 'node:assert/strict';
import { HEALING_SCENARIO_NAMES, scenarioRuns, SCENARIOS } from '../../src/sim/scenarios.js';

test('the same seed replays an identical run; another seed gives another run (reference node, every family it runs)', async () => {
  for (const name of Object.keys(SCENARIOS).filter((s) => scenarioRuns(s, 'reference'))) {
    for (const seed of [1, 77]) {
      const a = await SCENARIOS[name](seed, { nodeKind: 'reference' });
      const b = await SCENARIOS[name](seed, { nodeKind: 'reference' });
      assert.equal(a.traceDigest, b.traceDigest, `${name} seed ${seed} did not replay`);
      assert.deepEqual(a.history, b.history);
      assert.deepEqual(a.network, b.network);
      assert.deepEqual(a.faults, b.faults);
      assert.equal(a.steps, b.steps);
    }
    const c = await SCENARIOS[name](2, { nodeKind: 'reference' });
    const d = await SCENARIOS[name](3, { nodeKind: 'reference' });
    assert.notEqual(c.traceDigest, d.traceDigest);
  }
});

test('a verbose replay prints the same run it hashes', async () => {
  const lines: string[] = [];
  const quiet = await SCENARIOS.chaos(5, { nodeKind: 'reference' });
  const loud = await SCENARIOS.chaos(5, { nodeKind: 'reference', traceSink: (l) => lines.push(l) });
  assert.equal(quiet.traceDigest, loud.traceDigest);
  assert.ok(lines.some((l) => /deliver n\d->n\d req#\d+ ref_write/.test(l)));
  assert.ok(lines.some((l) => /invoke op0 /.test(l)));
  assert.ok(lines.some((l) => /crash n\d incarnation/.test(l)));
  assert.ok(lines.some((l) => /clock of n\d: offset/.test(l)));
});

test('ClusterNode runs replay exactly from their seed: memory engine, LSM on SimFS, gossip membership (joins, hints, reaping)', async () => {
  for (const name of ['main', 'crash-restart', 'counters-delete', 'lsm-periodic', 'chaos', ...HEALING_SCENARIO_NAMES]) {
    const a = await SCENARIOS[name](21, {});
    const b = await SCENARIOS[name](21, {});
    assert.equal(a.traceDigest, b.traceDigest, `${name} did not replay`);
    assert.deepEqual(a.history, b.history);
    assert.deepEqual(a.violations, b.violations);
    assert.deepEqual(a.observed, b.observed);
    const c = await SCENARIOS[name](22, {});
    assert.notEqual(a.traceDigest, c.traceDigest);
  }
});
