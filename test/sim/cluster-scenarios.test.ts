import test from 'node:test';
import assert from 'node:assert/strict';
import { clusterNodeFactory } from '../../src/sim/cluster-node-factory.js';
import { formatFailure, SCENARIOS, type ScenarioResult } from '../../src/sim/scenarios.js';

/**
 * The other scenarios against the production node (the main one is in cluster-main.test.ts).
 * Longer run: SIM_SEEDS=1000 node --test dist/test/sim/cluster-scenarios.test.js
 */
const SCALE = Number(process.env.SIM_SEEDS ?? 0) || 60;

const PLAN: Array<{ scenario: string; seeds: number }> = [
  { scenario: 'siblings', seeds: SCALE },
  { scenario: 'counters', seeds: SCALE },
  { scenario: 'crash-restart', seeds: Math.ceil(SCALE / 2) },
  { scenario: 'partition', seeds: Math.ceil(SCALE / 2) },
];

for (const { scenario, seeds } of PLAN) {
  test(`ClusterNode passes scenario ${scenario} for ${seeds} seeds`, async () => {
    const failures: ScenarioResult[] = [];
    for (let seed = 1; seed <= seeds && failures.length < 3; seed++) {
      const result = await SCENARIOS[scenario](seed, { createNode: clusterNodeFactory });
      if (result.violations.length > 0) failures.push(result);
    }
    assert.equal(failures.length, 0, `${failures.length} seeds failed; first:\n${failures.map((f) => formatFailure(f, 5)).join('\n')}`);
  });
}
