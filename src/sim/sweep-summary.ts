import type { ScenarioResult } from './scenarios.js';

interface ScenarioTally {
  seeds: number;
  ops: number;
  virtualMs: number;
  failingSeeds: number;
  faults: Record<string, number>;
  /** what the cluster's repair machinery did (membership and self-healing families) */
  observed: Record<string, number>;
  /** per checker: seeds on which it fired, violations, and the first seeds' replay commands */
  checkers: Record<string, { seeds: number; violations: number; replays: string[] }>;
}

const REPLAYS_KEPT = 3;

/** What a long sweep found, scenario by scenario: seeds run, faults injected, violations by checker. */
export class SweepSummary {
  private readonly scenarios = new Map<string, ScenarioTally>();

  add(r: ScenarioResult): void {
    const t = this.tally(r.scenario);
    t.seeds++;
    t.ops += r.history.length;
    t.virtualMs += r.virtualMs;
    for (const [kind, count] of Object.entries(r.faults)) t.faults[kind] = (t.faults[kind] ?? 0) + count;
    for (const [kind, count] of Object.entries(r.observed ?? {})) t.observed[kind] = (t.observed[kind] ?? 0) + count;
    if (r.violations.length > 0) t.failingSeeds++;
    const byChecker = new Map<string, number>();
    for (const v of r.violations) byChecker.set(v.checker, (byChecker.get(v.checker) ?? 0) + 1);
    for (const [checker, count] of byChecker) this.noteChecker(t, checker, count, r.replay);
  }

  /** a run that threw instead of finishing: a finding of its own kind */
  addCrash(scenario: string, _seed: number, replay: string, error: unknown): void {
    const t = this.tally(scenario);
    t.seeds++;
    t.failingSeeds++;
    this.noteChecker(t, 'simulator-error', 1, `${replay}   # ${error instanceof Error ? error.message : String(error)}`.slice(0, 400));
  }

  failingSeeds(scenario: string): number {
    return this.scenarios.get(scenario)?.failingSeeds ?? 0;
  }

  anyFailing(): boolean {
    return [...this.scenarios.values()].some((t) => t.failingSeeds > 0);
  }

  format(elapsedSec: number): string {
    const lines = [`== sweep summary (${elapsedSec.toFixed(0)} s) ==`];
    let seeds = 0;
    let failing = 0;
    for (const [name, t] of this.scenarios) {
      seeds += t.seeds;
      failing += t.failingSeeds;
      lines.push(`${name}: ${t.seeds} seeds, ${t.ops} ops, ${Math.round(t.virtualMs / 1000)} virtual s, ${t.failingSeeds} seeds with violations`);
      const faults = Object.entries(t.faults).sort(([a], [b]) => (a < b ? -1 : 1));
      lines.push(`  faults injected: ${faults.length ? faults.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`);
      const observed = Object.entries(t.observed).filter(([, v]) => v > 0);
      if (observed.length) lines.push(`  repairs observed: ${observed.map(([k, v]) => `${k} ${v}`).join(', ')}`);
      for (const [checker, c] of Object.entries(t.checkers).sort(([a], [b]) => (a < b ? -1 : 1))) {
        lines.push(`  [${checker}] ${c.violations} violation(s) on ${c.seeds} seed(s); replay: ${c.replays[0]}`);
        for (const more of c.replays.slice(1)) lines.push(`  ${' '.repeat(checker.length + 2)} also: ${more}`);
      }
    }
    lines.push(`total: ${seeds} seeds, ${failing} with violations`);
    return lines.join('\n');
  }

  toJSON(): object {
    return { scenarios: Object.fromEntries(this.scenarios) };
  }

  private tally(scenario: string): ScenarioTally {
    let t = this.scenarios.get(scenario);
    if (!t) this.scenarios.set(scenario, (t = { seeds: 0, ops: 0, virtualMs: 0, failingSeeds: 0, faults: {}, observed: {}, checkers: {} }));
    return t;
  }

  private noteChecker(t: ScenarioTally, checker: string, violations: number, replay: string): void {
    const c = (t.checkers[checker] ??= { seeds: 0, violations: 0, replays: [] });
    c.seeds++;
    c.violations += violations;
    if (c.replays.length < REPLAYS_KEPT) c.replays.push(replay);
  }
}
