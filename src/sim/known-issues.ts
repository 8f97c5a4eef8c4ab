import type { NetworkFaults } from './sim-network.js';

/**
 * Bugs the simulator found in src/cluster that are not fixed yet. Simulation tests stay strict about
 * everything else by steering around these (and say so in their names); delete an entry once the
 * bug is fixed and the tests return to full strength.
 */
export const KNOWN_ISSUES = {
  /**
   * coordinate_write is not idempotent: when it is delivered twice (network duplication, or any
   * retry) the replica-coordinator mints a second version of the same write. Reads then show the
   * value twice among the siblings, and a later write whose read saw only one copy leaves the other
   * behind, so the superseded value comes back; a duplicated increment is counted twice (the
   * counters scenario sees values outside the possible range). Which seeds hit it shifts whenever
   * cluster or simulator code changes; list the current ones with
   * `npm run sim -- --seed 1 --runs 100 --quiet` (and `--scenario counters`), and confirm a seed
   * is this bug by replaying it with `--duplicate 0`.
   */
  duplicateCoordinateWriteMintsTwice: 'coordinate_write is not idempotent: a duplicated delivery mints a second version' as string | undefined,
};

/** fault overrides that keep runs clear of the known issues (empty once they are fixed) */
export function faultsAvoidingKnownIssues(): Partial<NetworkFaults> {
  return KNOWN_ISSUES.duplicateCoordinateWriteMintsTwice ? { duplicateProbability: 0 } : {};
}
