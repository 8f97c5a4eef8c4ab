/** The history split by record type and key, as every checker needs it. */
import type { CheckRecord, ConvergenceRecord, FaultRecord, HistoryRecord, MetaRecord, NodeExitRecord, OpRecord, WorkloadName } from '../history.js';

export interface Violation {
  checker: string;
  message: string;
}

export class HistoryIndex {
  readonly ops: OpRecord[] = [];
  readonly faults: FaultRecord[] = [];
  readonly checks: CheckRecord[] = [];
  readonly converge: ConvergenceRecord[] = [];
  readonly nodeExits: NodeExitRecord[] = [];
  meta: MetaRecord | undefined;

  constructor(records: HistoryRecord[]) {
    for (const r of records) {
      if (r.type === 'op') this.ops.push(r);
      else if (r.type === 'fault') this.faults.push(r);
      else if (r.type === 'check') this.checks.push(r);
      else if (r.type === 'converge') this.converge.push(r);
      else if (r.type === 'node-exit') this.nodeExits.push(r);
      else this.meta = r;
    }
    this.ops.sort((a, b) => a.invokeMs - b.invokeMs);
  }

  opsOf(workload: WorkloadName): OpRecord[] {
    return this.ops.filter((o) => o.workload === workload);
  }

  convergeOf(workload: WorkloadName): ConvergenceRecord[] {
    return this.converge.filter((c) => c.workload === workload);
  }

  /** when the convergence check began (the clients had stopped: every earlier operation had completed) */
  checkStartMs(check: number): number {
    const c = this.checks.find((x) => x.check === check);
    if (c) return c.startMs;
    // a history cut short before its check record: the earliest read of that check
    return Math.min(...this.converge.filter((x) => x.check === check).map((x) => x.atMs));
  }

  /** the last check, whose reads are what the run ended with */
  lastCheck(): number | undefined {
    const all = [...this.checks.map((c) => c.check), ...this.converge.map((c) => c.check)];
    return all.length ? Math.max(...all) : undefined;
  }
}

export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** the p-th percentile (0..100) by nearest rank; undefined for no samples */
export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
