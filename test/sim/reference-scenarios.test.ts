import test from 'node:test';
import assert from 'node:assert/strict';
import { referenceNodeFactory } from '../../src/sim/reference-kv-node.js';
import { formatFailure, SCENARIOS } from '../../src/sim/scenarios.js';

/**
 * The scenarios and checkers against the simulator's reference node (src/sim/reference-kv-node.ts):
 * a correct implementation must pass every seed — this guards the checkers against false alarms.
 */
const SEEDS = Number(process.env.SIM_SEEDS ?? 0) || 25;

// the reference node has no counters
for (const name of Object.keys(SCENARIOS).filter((n) => n !== 'counters')) {
  test(`reference node passes scenario ${name} for ${SEEDS} seeds`, async () => {
    let ops = 0;
    let failedOps = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const result = await SCENARIOS[name](seed, { createNode: referenceNodeFactory, nodeKind: 'reference' });
      assert.deepEqual(result.violations, [], formatFailure(result));
      ops += result.history.length;
      failedOps += result.history.filter((o) => o.outcome !== 'ok').length;
    }
    assert.ok(ops > SEEDS * 5, `scenario ${name} ran only ${ops} ops`);
    if (name === 'main' || name === 'partition') assert.ok(failedOps > 0, 'faults never made an op fail: are they injected?');
  });
}
