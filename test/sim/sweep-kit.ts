import test from 'node:test';
import assert from 'node:assert/strict';
import { formatFailure, SCENARIOS, type ScenarioResult } from '../../src/sim/scenarios.js';

/** stop a sweep after this many failing seeds: a broken build should fail fast, not slowly */
const MAX_FAILURES = 3;

/**
 * One test per scenario family: the production node (src/cluster/node.ts) for `seeds` seeds, every
 * checker on; a failing sweep prints the replay command of its first failing seeds.
 */
export function sweepClusterNode(scenarios: readonly string[], seeds: number, engine: string): void {
  for (const scenario of scenarios) {
    test(`ClusterNode passes scenario ${scenario} (${engine}) for ${seeds} seeds`, async () => {
      const failures: ScenarioResult[] = [];
      let ops = 0;
      let seedsRun = 0;
      for (let seed = 1; seed <= seeds && failures.length < MAX_FAILURES; seed++, seedsRun++) {
        const result = await SCENARIOS[scenario](seed, {});
        ops += result.history.length;
        if (result.violations.length > 0) failures.push(result);
      }
      assert.equal(failures.length, 0, `${failures.length} of ${seedsRun} seeds failed (stopped after ${MAX_FAILURES}); first:\n${failures.map((f) => formatFailure(f, 5)).join('\n')}`);
      assert.ok(ops >= seeds * 10, `only ${ops} ops over ${seeds} seeds`);
    });
  }
}
