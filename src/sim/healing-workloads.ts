/** The loads and network presets of the membership and self-healing families. */
import { MAIN_FAULTS } from './scenario-kit.js';
import type { NetworkFaults } from './sim-network.js';
import type { WorkloadOptions } from './workload.js';

export const VALUE_KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
export const COUNTER_KEYS = ['ctr0', 'ctr1'];

/** no message loss (hinted handoff alone must repair: a lost replicate would need anti-entropy) */
export const LOSSLESS: Partial<NetworkFaults> = { ...MAIN_FAULTS, dropProbability: 0 };

/** values and counters with reads, deletes and contexts; half the operations strict (pr = r, pw = w) */
export function mixedLoad(clientPrefix: string, opsPerClient: number, thinkMeanMs: number, keys: readonly string[] = VALUE_KEYS): WorkloadOptions {
  return {
    clients: 4,
    opsPerClient,
    keys,
    counterKeys: COUNTER_KEYS,
    thinkMeanMs,
    mix: { get: 30, blindPut: 25, readModifyWrite: 25, readDelete: 8, increment: 20, counterDelete: 4 },
    rChoices: [1, 2, 2, 2, 3],
    wChoices: [1, 2, 2, 2, 3],
    reusePutContextProbability: 0.5,
    negativeDeltaProbability: 0.2,
    strictProbability: 0.5,
    clientPrefix,
  };
}

/**
 * writes only, no read anywhere: blind puts (half with the client's last PUT context), deletes with a
 * PUT's context, increments; sloppy (stand-ins count toward W)
 */
export function writeOnlyLoad(clientPrefix: string, opsPerClient: number, thinkMeanMs: number): WorkloadOptions {
  return {
    clients: 4,
    opsPerClient,
    keys: VALUE_KEYS,
    counterKeys: COUNTER_KEYS,
    thinkMeanMs,
    mix: { get: 0, blindPut: 50, readModifyWrite: 0, readDelete: 0, putDelete: 10, increment: 25 },
    counterReadProbability: 0,
    rChoices: [2],
    wChoices: [1, 2, 2, 3],
    reusePutContextProbability: 0.5,
    negativeDeltaProbability: 0.2,
    clientPrefix,
  };
}
