/** Builders for hand-made chaos histories (3 nodes, n=3, r=w=2 unless told otherwise). */
import type { CheckRecord, ConvergenceRecord, FaultRecord, HistoryRecord, MetaRecord, OpRecord, Outcome, WorkloadName } from '../../src/chaos/history.js';

export function meta(over: Partial<MetaRecord> = {}): MetaRecord {
  return { type: 'meta', version: 1, startedAt: '2026-01-01T00:00:00.000Z', nodes: ['n1', 'n2', 'n3'], n: 3, r: 2, w: 2, requestTimeoutMs: 1500, clientTimeoutMs: 3000, commitlogSync: 'batch', schedule: 'test', seed: 1, ...over };
}

let nextId = 1;
export function op(workload: WorkloadName, f: OpRecord['f'], key: string, invokeMs: number, completeMs: number, outcome: Outcome, extra: Partial<OpRecord> = {}): OpRecord {
  return { type: 'op', id: nextId++, workload, f, key, node: 'n1', invokeMs, completeMs, outcome, ...extra };
}

export const add = (workload: WorkloadName, key: string, element: string, invokeMs: number, completeMs: number, outcome: Outcome = 'ok', node = 'n1'): OpRecord =>
  op(workload, 'add', key, invokeMs, completeMs, outcome, { value: element, node });

export const read = (workload: WorkloadName, key: string, elements: string[], invokeMs: number, completeMs: number, node = 'n1'): OpRecord =>
  op(workload, 'read', key, invokeMs, completeMs, 'ok', { result: elements, node });

export const incr = (key: string, delta: number, invokeMs: number, completeMs: number, outcome: Outcome = 'ok', reply?: number): OpRecord =>
  op('counter', 'incr', key, invokeMs, completeMs, outcome, { value: delta, ...(reply !== undefined ? { result: String(reply) } : {}) });

/** a convergence check at startMs, with one record per [workload, key, value] */
export function check(no: number, startMs: number, keys: Array<[WorkloadName, string, string[] | string | null]>, converged = true): HistoryRecord[] {
  const recs: HistoryRecord[] = [{ type: 'check', check: no, after: 'x', startMs, endMs: startMs + 100 } satisfies CheckRecord];
  for (const [workload, key, value] of keys) {
    recs.push({ type: 'converge', check: no, workload, key, converged, read: true, value, atMs: startMs + 50, ...(converged ? {} : { detail: 'replicas differ' }) } satisfies ConvergenceRecord);
  }
  return recs;
}

export function fault(nemesis: string, affected: string[], startMs: number, healedMs: number): FaultRecord {
  return { type: 'fault', step: 1, nemesis, description: nemesis, affected, startMs, appliedMs: startMs, endMs: healedMs, healedMs };
}
