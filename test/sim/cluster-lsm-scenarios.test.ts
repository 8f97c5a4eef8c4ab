import { LSM_SCENARIOS } from '../../src/sim/scenarios.js';
import { sweepClusterNode } from './sweep-kit.js';

/**
 * The scenario families on the LSM engine over SimFS (crashes lose what was not fsynced; periodic
 * sync and replaced disks included) against the production node, 200 seeds each.
 * Longer run: SIM_SEEDS=2000 node --test dist/test/sim/cluster-lsm-scenarios.test.js.
 */
const SEEDS = Number(process.env.SIM_SEEDS ?? 0) || 200;

sweepClusterNode(LSM_SCENARIOS, SEEDS, 'LSM engine on SimFS');
