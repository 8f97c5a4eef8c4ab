import { HEALING_SCENARIO_NAMES, LSM_SCENARIOS, SCENARIOS } from '../../src/sim/scenarios.js';
import { sweepClusterNode } from './sweep-kit.js';

/**
 * The memory-engine scenario families against the production node, 200 seeds each (the LSM ones are
 * in cluster-lsm-scenarios.test.ts, the membership and self-healing ones in healing-scenarios.test.ts,
 * so the files run side by side).
 * Longer run: SIM_SEEDS=2000 node --test dist/test/sim/cluster-scenarios.test.js, or
 * `npm run sim -- --runs 100000 --scenario all`.
 */
const SEEDS = Number(process.env.SIM_SEEDS ?? 0) || 200;

sweepClusterNode(
  Object.keys(SCENARIOS).filter((s) => !LSM_SCENARIOS.includes(s) && !HEALING_SCENARIO_NAMES.includes(s)),
  SEEDS,
  'memory engine',
);
