/**
 * Schedules: quiet periods, fault windows and convergence checks, in order. A convergence check
 * heals everything first; every schedule ends with one.
 */
import { NEMESES, nemesisByName, type Capability } from './nemeses.js';

export type Step = { kind: 'quiet'; ms: number } | { kind: 'fault'; nemesis: string; ms: number } | { kind: 'check' };

/** the fixed schedule `--short` runs (3 nodes, about 1.5 minutes of faults and checks) */
export const SHORT_NEMESES = ['isolate-one', 'kill-one', 'pause-one'];

export function buildSchedule(nemeses: string[], faultMs: number, quietMs: number): Step[] {
  const steps: Step[] = [{ kind: 'quiet', ms: quietMs }];
  for (const name of nemeses) {
    nemesisByName(name);
    steps.push({ kind: 'fault', nemesis: name, ms: faultMs }, { kind: 'quiet', ms: quietMs }, { kind: 'check' });
  }
  if (nemeses.length === 0) steps.push({ kind: 'check' });
  return steps;
}

export interface Selection {
  run: string[];
  /** left out, with the reason */
  skipped: Array<{ nemesis: string; why: string }>;
}

/**
 * every nemesis that can run on this machine with this many nodes, in the order given (catalogue
 * order for 'all'). Membership nemeses change the member count for the rest of the run: one that
 * would leave fewer than n members (the replication factor) is left out, and the count the later
 * nemeses see is the one after the membership changes before them.
 */
export function selectNemeses(wanted: string[] | 'all', cluster: { nodes: number; n: number }, have: Set<Capability>, haveWhy: Partial<Record<Capability, string>>): Selection {
  const names = wanted === 'all' ? NEMESES.map((n) => n.name) : wanted;
  const out: Selection = { run: [], skipped: [] };
  let members = cluster.nodes;
  for (const name of names) {
    const n = nemesisByName(name);
    const missing = n.needs.filter((c) => !have.has(c));
    const after = members + (n.membersDelta ?? 0);
    if (n.unavailable) out.skipped.push({ nemesis: name, why: n.unavailable });
    else if (members < n.minNodes) out.skipped.push({ nemesis: name, why: `needs at least ${n.minNodes} nodes` });
    else if (after < cluster.n) out.skipped.push({ nemesis: name, why: `would leave ${after} members, fewer than n=${cluster.n}` });
    else if (missing.length > 0) out.skipped.push({ nemesis: name, why: missing.map((c) => haveWhy[c] ?? `${c} unavailable`).join('; ') });
    else {
      out.run.push(name);
      members = after;
    }
  }
  return out;
}

export function scheduleSeconds(steps: Step[], checkAllowanceMs: number): number {
  return steps.reduce((s, st) => s + (st.kind === 'check' ? checkAllowanceMs : st.ms), 0) / 1000;
}
