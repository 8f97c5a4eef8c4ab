import test from 'node:test';
import assert from 'node:assert/strict';
import { formatFailure, scenarioRuns, SCENARIOS } from '../../src/sim/scenarios.js';

/**
 * Every scenario family and every checker against the simulator's reference node
 * (src/sim/reference-kv-node.ts), which implements the contract the checkers encode in the most
 * obvious way: it must pass every seed — this guards the checkers against false alarms. (The
 * membership and self-healing families need gossip membership, which only ClusterNode has.)
 * Longer run: SIM_SEEDS=2000 node --test dist/test/sim/reference-scenarios.test.js
 */
const SEEDS = Number(process.env.SIM_SEEDS ?? 0) || 100;

for (const name of Object.keys(SCENARIOS).filter((s) => scenarioRuns(s, 'reference'))) {
  test(`reference node passes scenario ${name} for ${SEEDS} seeds`, async () => {
    let ops = 0;
    let failedOps = 0;
    let faults = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const result = await SCENARIOS[name](seed, { nodeKind: 'reference' });
      assert.deepEqual(result.violations, [], formatFailure(result));
      ops += result.history.length;
      failedOps += result.history.filter((o) => o.outcome !== 'ok').length;
      faults += Object.values(result.faults).reduce((a, b) => a + b, 0);
    }
    assert.ok(ops > SEEDS * 5, `scenario ${name} ran only ${ops} ops`);
    assert.ok(faults > 0, 'no fault was injected');
    if (name !== 'siblings') assert.ok(failedOps > 0, 'faults never made an op fail: are they injected?');
  });
}
