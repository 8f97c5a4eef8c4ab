/**
 * Availability per fault window, counted on the majority side: of the operations invoked during the
 * window through nodes the fault did not touch, the fraction that succeeded. Where one node is out
 * and the others still hold enough replicas for every quorum (N − 1 ≥ max(R, W)), it must stay at
 * AVAILABILITY_FLOOR or above.
 */
import type { FaultRecord, OpRecord, WorkloadName } from '../history.js';
import type { HistoryIndex, Violation } from './history-index.js';

/** "near 100 %": at most one operation in a hundred through healthy nodes may fail or time out */
export const AVAILABILITY_FLOOR = 0.99;

export interface Counts {
  ok: number;
  fail: number;
  unknown: number;
}

export interface WindowAvailability {
  fault: FaultRecord;
  workload: WorkloadName;
  /** every operation invoked in the window */
  all: Counts;
  /** through nodes the fault did not touch */
  majority: Counts;
  /** majority.ok / total, undefined when no operation went through the majority side */
  availability: number | undefined;
  /** whether the floor applies to this window */
  mustStayAvailable: boolean;
}

export function countOutcomes(ops: OpRecord[]): Counts {
  const c: Counts = { ok: 0, fail: 0, unknown: 0 };
  for (const o of ops) c[o.outcome]++;
  return c;
}

export function opsInWindow(ix: HistoryIndex, workload: WorkloadName, fromMs: number, toMs: number): OpRecord[] {
  return ix.ops.filter((o) => o.workload === workload && o.invokeMs >= fromMs && o.invokeMs < toMs);
}

export function checkAvailability(ix: HistoryIndex, workloads: readonly WorkloadName[]): { windows: WindowAvailability[]; violations: Violation[] } {
  const meta = ix.meta;
  const windows: WindowAvailability[] = [];
  const violations: Violation[] = [];
  for (const fault of ix.faults) {
    const quorumSurvives = meta !== undefined && fault.affected.length === 1 && meta.nodes.length >= 3 && meta.n - 1 >= Math.max(meta.r, meta.w);
    for (const workload of workloads) {
      const ops = opsInWindow(ix, workload, fault.startMs, fault.healedMs);
      const majorityOps = ops.filter((o) => !fault.affected.includes(o.node));
      const majority = countOutcomes(majorityOps);
      const total = majority.ok + majority.fail + majority.unknown;
      const availability = total > 0 ? majority.ok / total : undefined;
      windows.push({ fault, workload, all: countOutcomes(ops), majority, availability, mustStayAvailable: quorumSurvives });
      if (quorumSurvives && availability !== undefined && availability < AVAILABILITY_FLOOR) {
        violations.push({
          checker: 'availability',
          message: `${fault.nemesis} (${fault.description}), ${workload}: ${(availability * 100).toFixed(1)} % of ${total} operations through the majority side succeeded (floor ${AVAILABILITY_FLOOR * 100} %; ${majority.fail} failed, ${majority.unknown} unknown)`,
        });
      }
    }
  }
  return { windows, violations };
}
