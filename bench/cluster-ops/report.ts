/** What each scenario of the cluster-operations benchmark hands back: table rows, its JSON, and problems found. */
import type { VerifyResult } from './load.js';
import { loadAverage, WaitTimeout } from './timing.js';

export interface Figure {
  figure: string;
  value: string;
  /** the target or the reference it is read against, when there is one */
  note?: string;
}

export interface ScenarioResult {
  scenario: string;
  figures: Figure[];
  /** everything measured, for the JSON line */
  data: Record<string, unknown>;
  /** what went wrong: a wait that ran out, a lost key, hints that did not drain (each a finding) */
  problems: string[];
  loadAvgStart: number;
  loadAvgEnd: number;
}

/** collects a scenario's figures and problems while it runs */
export class ScenarioReport {
  readonly figures: Figure[] = [];
  readonly data: Record<string, unknown> = {};
  readonly problems: string[] = [];
  private readonly loadAvgStart = loadAverage();

  constructor(readonly scenario: string) {}

  add(figure: string, value: string | number, note?: string): void {
    this.figures.push({ figure, value: typeof value === 'number' ? value.toLocaleString('en-US') : value, ...(note ? { note } : {}) });
  }

  problem(what: string): void {
    this.problems.push(what);
    process.stdout.write(`  PROBLEM (${this.scenario}): ${what}\n`);
  }

  /** a read-back's failures as problems: keys not read in time, replicas without the key, missing, wrong or failed reads */
  readBack(label: string, check: VerifyResult & { staleReplicas?: number }, expected: number): void {
    if (check.checked < expected) this.problem(`${label}: only ${check.checked} of ${expected} keys read within the time bound`);
    const stale = check.staleReplicas ?? 0;
    if (stale + check.missing + check.wrong + check.errors > 0) {
      this.problem(`${label}: ${stale} replica copies behind, ${check.missing} keys missing, ${check.wrong} wrong, ${check.errors} failed reads (e.g. ${check.examples.join('; ')})`);
    }
  }

  /** runs the scenario: a wait that ran out is a problem found, not a crash; cleanup always runs */
  async run(body: () => Promise<void>, cleanup: () => Promise<void>): Promise<ScenarioResult> {
    try {
      await body();
    } catch (e) {
      if (!(e instanceof WaitTimeout)) throw e;
      this.problem(e.message);
    } finally {
      await cleanup();
    }
    return this.result();
  }

  result(): ScenarioResult {
    // four significant digits are plenty for timings taken on a shared machine
    const data = JSON.parse(JSON.stringify(this.data, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v))) as Record<string, unknown>;
    return { scenario: this.scenario, figures: this.figures, data, problems: this.problems, loadAvgStart: this.loadAvgStart, loadAvgEnd: loadAverage() };
  }
}

export const fmt = {
  s: (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s` : '-'),
  mb: (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 10e6 ? 2 : 1)} MB`,
  pct: (x: number): string => `${(x * 100).toFixed(x < 0.01 ? 3 : 1)} %`,
  ratio: (x: number): string => x.toFixed(2),
};
