/**
 * Runs every checker over a history and collects the verdict: the violations (any one fails the run),
 * the figures per fault window and workload, and the totals the last stdout line reports.
 *
 * Fails the run: an acknowledged set-full element lost; a phantom or a failed write that shows up (any
 * workload); a counter outside its bounds; a key whose replicas differ after healing; availability
 * under the floor where a quorum survives; a node process that died without being killed.
 * Measured, never a failure: the register's lost elements (last-writer-wins loses concurrent writes by
 * design), staleness, duplicated siblings, stale INCRBY replies.
 */
import { WORKLOADS, type HistoryRecord, type WorkloadName } from '../history.js';
import { checkAvailability, countOutcomes, opsInWindow, type Counts, type WindowAvailability } from './availability.js';
import { checkCounters, type CounterResult } from './counter.js';
import { checkElements, stalenessFigures, type ElementsResult, type StalenessFigures } from './elements.js';
import { HistoryIndex, type Violation } from './history-index.js';

export interface SummaryRow {
  window: string;
  description: string;
  workload: WorkloadName;
  counts: Counts;
  /** elements (set-full, register) or increments (counter) acknowledged and missing */
  lost: number;
  /** keys converged / keys checked at the check after the window */
  converged: string;
  staleness: StalenessFigures | undefined;
  availability: number | undefined;
}

export interface Verdict {
  violations: Violation[];
  setFull: ElementsResult;
  register: ElementsResult;
  counter: CounterResult;
  convergence: { keysChecked: number; diverged: number };
  availability: WindowAvailability[];
  rows: SummaryRow[];
  totals: Record<WorkloadName, { counts: Counts; acknowledged: number; lost: number; staleness?: StalenessFigures }>;
}

const MAX_MESSAGES_PER_CHECKER = 20;

function push(violations: Violation[], checker: string, messages: string[]): void {
  messages.slice(0, MAX_MESSAGES_PER_CHECKER).forEach((message) => violations.push({ checker, message }));
  if (messages.length > MAX_MESSAGES_PER_CHECKER) violations.push({ checker, message: `… and ${messages.length - MAX_MESSAGES_PER_CHECKER} more` });
}

function elementViolations(r: ElementsResult, lostIsViolation: boolean, out: Violation[]): void {
  if (lostIsViolation) {
    push(out, 'lost-writes', r.lost.map((l) => `${r.workload}: element ${l.element} of ${l.key}, acknowledged by ${l.node} at ${l.ackMs} ms, missing at check ${l.missingAtCheck}`));
  }
  push(out, 'phantom', r.phantoms.map((p) => `${r.workload}: ${p.key} returned ${p.element} at ${p.atMs} ms, which no add had been invoked for`));
  push(out, 'failed-write-visible', r.failedButVisible.map((f) => `${r.workload}: op ${f.op} on ${f.key} failed (not applied), yet ${f.element} is visible`));
}

export function judge(records: HistoryRecord[]): Verdict {
  const ix = new HistoryIndex(records);
  const violations: Violation[] = [];
  const setFull = checkElements(ix, 'set-full');
  const register = checkElements(ix, 'register');
  const counter = checkCounters(ix);
  elementViolations(setFull, true, violations);
  elementViolations(register, false, violations);
  violations.push(...counter.violations);

  const diverged = ix.converge.filter((c) => !c.converged);
  push(violations, 'convergence', diverged.map((c) => `check ${c.check}, ${c.workload} ${c.key}: ${c.detail ?? 'did not converge'}`));
  push(violations, 'node-crashed', ix.nodeExits.map((e) => `${e.node} exited by itself at ${e.atMs} ms (code ${e.code}, signal ${e.signal})`));
  const avail = checkAvailability(ix, WORKLOADS);
  violations.push(...avail.violations);

  const elementsOf = (w: WorkloadName): ElementsResult | undefined => (w === 'set-full' ? setFull : w === 'register' ? register : undefined);
  const rows: SummaryRow[] = [];
  const checks = [...new Set(ix.converge.map((c) => c.check))].sort((a, b) => a - b);
  for (const fault of [...ix.faults].sort((a, b) => a.startMs - b.startMs)) {
    const nextCheck = checks.find((c) => ix.checkStartMs(c) >= fault.healedMs);
    for (const workload of WORKLOADS) {
      const inWindow = (ms: number): boolean => ms >= fault.startMs && ms < fault.healedMs;
      const el = elementsOf(workload);
      const keysAtCheck = ix.converge.filter((c) => c.workload === workload && c.check === nextCheck);
      const lost = el ? el.lost.filter((l) => inWindow(l.invokeMs)).length : counter.checks.filter((c) => c.check === nextCheck).reduce((s, c) => s + c.lost, 0);
      rows.push({
        window: fault.nemesis,
        description: fault.description,
        workload,
        counts: countOutcomes(opsInWindow(ix, workload, fault.startMs, fault.healedMs)),
        lost,
        converged: nextCheck === undefined ? 'no check' : `${keysAtCheck.filter((c) => c.converged).length}/${keysAtCheck.length}`,
        staleness: el ? stalenessFigures(el, (a) => inWindow(a.completeMs)) : undefined,
        availability: avail.windows.find((w) => w.fault === fault && w.workload === workload)?.availability,
      });
    }
  }
  const totals = {} as Verdict['totals'];
  for (const workload of WORKLOADS) {
    const el = elementsOf(workload);
    totals[workload] = {
      counts: countOutcomes(ix.opsOf(workload)),
      acknowledged: el ? el.acknowledged : counter.acknowledged,
      lost: el ? el.lost.length : counter.lost,
      ...(el ? { staleness: stalenessFigures(el) } : {}),
    };
  }
  return { violations, setFull, register, counter, convergence: { keysChecked: ix.converge.length, diverged: diverged.length }, availability: avail.windows, rows, totals };
}
