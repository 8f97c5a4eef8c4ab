import test from 'node:test';
import assert from 'node:assert/strict';
import { clusterNodeFactory } from '../../src/sim/cluster-node-factory.js';
import { formatFailure, SCENARIOS, type ScenarioOptions, type ScenarioResult } from '../../src/sim/scenarios.js';

/**
 * The main simulation of the production node (src/cluster/node.ts): 3–5 nodes, N=3, R=W=2 (per-op
 * r/w 1..3), random delay and reordering, 5% loss, 2% duplication, a few dozen ops per seed, checked
 * for lost acknowledged writes, resurrected values, phantom or duplicate siblings and hung requests.
 * Longer run: SIM_SEEDS=5000 node --test dist/test/sim/cluster-main.test.js
 */
const SEEDS = Number(process.env.SIM_SEEDS ?? 0) || 200;
/** stop a sweep after this many failing seeds: a broken build should fail fast, not slowly */
const MAX_FAILURES = 3;

async function sweep(options: ScenarioOptions): Promise<void> {
  const failures: ScenarioResult[] = [];
  let ops = 0;
  let seedsRun = 0;
  for (let seed = 1; seed <= SEEDS && failures.length < MAX_FAILURES; seed++, seedsRun++) {
    const result = await SCENARIOS.main(seed, options);
    ops += result.history.length;
    if (result.violations.length > 0) failures.push(result);
  }
  assert.equal(failures.length, 0, `${failures.length} of ${seedsRun} seeds failed (stopped after ${MAX_FAILURES}); first:\n${failures.map((f) => formatFailure(f, 5)).join('\n')}`);
  assert.ok(ops >= SEEDS * 20, `only ${ops} ops over ${SEEDS} seeds`);
}

test(`ClusterNode passes the main scenario for ${SEEDS} seeds`, async () => {
  await sweep({ createNode: clusterNodeFactory });
});
