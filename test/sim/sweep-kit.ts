import test from 'node:test';
import assert from 'node:assert/strict';
import { formatFailure, SCENARIOS, type ScenarioResult } from '../../src/sim/scenarios.js';

/** stop a sweep after this many failing seeds: a broken build should fail fast, not slowly */
const MAX_FAILURES = 3;

/** what a family must have done over its seeds, or it did not test what it claims: a message when it did not */
export type Exercised = (totals: { faults: Record<string, number>; observed: Record<string, number>; seeds: number }) => string | undefined;

/**
 * One test per scenario family: the production node (src/cluster/node.ts) for `seeds` seeds, every
 * checker on; a failing sweep prints the replay command of its first failing seeds. `exercised`
 * checks, over the whole sweep, that the family injected its faults and drove its mechanism.
 */
export function sweepClusterNode(scenarios: readonly string[], seeds: number, engine: string, exercised: Readonly<Record<string, Exercised>> = {}): void {
  for (const scenario of scenarios) {
    test(`ClusterNode passes scenario ${scenario} (${engine}) for ${seeds} seeds`, async () => {
      const failures: ScenarioResult[] = [];
      const totals = { faults: {} as Record<string, number>, observed: {} as Record<string, number>, seeds: 0 };
      let ops = 0;
      for (let seed = 1; seed <= seeds && failures.length < MAX_FAILURES; seed++, totals.seeds++) {
        const result = await SCENARIOS[scenario](seed, {});
        ops += result.history.length;
        if (result.violations.length > 0) failures.push(result);
        for (const [k, v] of Object.entries(result.faults)) totals.faults[k] = (totals.faults[k] ?? 0) + v;
        for (const [k, v] of Object.entries(result.observed ?? {})) totals.observed[k] = (totals.observed[k] ?? 0) + v;
      }
      assert.equal(failures.length, 0, `${failures.length} of ${totals.seeds} seeds failed (stopped after ${MAX_FAILURES}); first:\n${failures.map((f) => formatFailure(f, 5)).join('\n')}`);
      assert.ok(ops >= seeds * 10, `only ${ops} ops over ${seeds} seeds`);
      const missing = exercised[scenario]?.(totals);
      assert.equal(missing, undefined, `scenario ${scenario} did not exercise what it tests: ${missing}`);
    });
  }
}
