import test from 'node:test';
import assert from 'node:assert/strict';
import { HEALING_SCENARIO_NAMES } from '../../src/sim/scenarios.js';
import { EXERCISED, sweepHealingFamilies } from './healing-sweep.js';

/** hinted handoff, a disk rebuilt by anti-entropy, tombstone reaping (the other healing families: healing-membership-scenarios.test.ts) */
sweepHealingFamilies(['hinted-handoff', 'aae-rebuild', 'tombstones']);

test('every membership and self-healing family is swept, with what it must exercise', () => {
  assert.deepEqual(Object.keys(EXERCISED).sort(), [...HEALING_SCENARIO_NAMES].sort());
});
