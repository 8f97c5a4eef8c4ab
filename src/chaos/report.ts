/** The human summary (a table per fault window and workload, then totals and violations) and the final JSON line. */
import type { Verdict } from './checkers/verdict.js';
import type { WorkloadName } from './history.js';

const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(1)} %`);
const ms = (x: number | undefined): string => (x === undefined ? '-' : `${x}`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** the table the README shows: one row per fault window and workload */
export function summaryTable(v: Verdict): string {
  const header = ['nemesis', 'workload', 'ok', 'fail', 'unknown', 'acked lost', 'converged', 'stale p50 ms', 'stale p99 ms', 'availability (majority)'];
  const rows = v.rows.map((r) => [
    r.window,
    r.workload,
    String(r.counts.ok),
    String(r.counts.fail),
    String(r.counts.unknown),
    String(r.lost),
    r.converged,
    ms(r.staleness?.p50Ms),
    ms(r.staleness?.p99Ms),
    pct(r.availability),
  ]);
  return table(header, rows);
}

export function totalsTable(v: Verdict): string {
  const header = ['workload', 'ok', 'fail', 'unknown', 'acknowledged', 'lost', 'stale p50 / p99 / max ms (observed)'];
  const rows = (Object.keys(v.totals) as WorkloadName[]).map((w) => {
    const t = v.totals[w];
    const s = t.staleness;
    return [w, String(t.counts.ok), String(t.counts.fail), String(t.counts.unknown), String(t.acknowledged), String(t.lost), s ? `${ms(s.p50Ms)} / ${ms(s.p99Ms)} / ${ms(s.maxMs)} (${s.observed})` : '-'];
  });
  return table(header, rows);
}

export function humanReport(v: Verdict, faultDescriptions: boolean): string {
  const parts = ['', 'per fault window (operations invoked while the fault was on; lost = acknowledged and missing later):', summaryTable(v)];
  if (faultDescriptions) parts.push('', ...[...new Map(v.rows.map((r) => [r.window, r.description])).entries()].map(([w, d]) => `  ${w}: ${d}`));
  parts.push('', 'whole run:', totalsTable(v), '');
  const reg = v.totals.register;
  if (reg.acknowledged > 0) {
    parts.push(`register (RESP SET/GET, last writer wins): ${reg.lost} of ${reg.acknowledged} acknowledged elements lost (${pct(reg.lost / reg.acknowledged)}), measured, not a failure`);
  }
  parts.push(
    `convergence: ${v.convergence.keysChecked - v.convergence.diverged} of ${v.convergence.keysChecked} key checks converged`,
    `set-full: ${v.setFull.unverified} acknowledged elements not covered by a convergence read; ${v.setFull.duplicateReads} reads listed a value twice`,
    `counter: ${v.counter.staleReplies} INCRBY replies were below the increments acknowledged before they were invoked`,
  );
  if (v.violations.length === 0) parts.push('', 'every checker passed');
  else parts.push('', `${v.violations.length} violation(s):`, ...v.violations.map((x) => `  [${x.checker}] ${x.message}`));
  return parts.join('\n');
}

/** the last stdout line: one JSON object with the figures */
export function figuresJson(v: Verdict, extra: Record<string, unknown>): string {
  const lost: Record<string, number> = {};
  const acknowledged: Record<string, number> = {};
  const ops: Record<string, unknown> = {};
  const staleness: Record<string, unknown> = {};
  for (const w of Object.keys(v.totals) as WorkloadName[]) {
    lost[w] = v.totals[w].lost;
    acknowledged[w] = v.totals[w].acknowledged;
    ops[w] = v.totals[w].counts;
    if (v.totals[w].staleness) staleness[w] = v.totals[w].staleness;
  }
  const availability: Record<string, number | null> = {};
  for (const a of v.availability) {
    const k = `${a.fault.nemesis}/${a.workload}`;
    availability[k] = a.availability === undefined ? null : Math.round(a.availability * 10000) / 10000;
  }
  return JSON.stringify({
    result: v.violations.length === 0 ? 'pass' : 'fail',
    ...extra,
    lost,
    acknowledged,
    ops,
    convergence: v.convergence,
    staleness,
    availability,
    violations: v.violations.length,
    violationsByChecker: v.violations.reduce<Record<string, number>>((m, x) => ((m[x.checker] = (m[x.checker] ?? 0) + 1), m), {}),
  });
}
