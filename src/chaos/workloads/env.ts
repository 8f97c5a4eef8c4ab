/** What every workload worker gets: the history, the nodes, time limits, a seeded random source, the gate. */
import type { HistoryRecorder, OpRecord, Outcome, WorkloadName } from '../history.js';
import { pause } from '../sys.js';
import type { Gate } from './gate.js';

export interface TargetNode {
  id: string;
  address: string;
  httpUrl: string;
  respPort: number;
}

export interface WorkloadEnv {
  history: HistoryRecorder;
  /** the nodes that take client traffic now: a worker bound to a node ends once its node is not here */
  nodes: TargetNode[];
  /** the client's own limit per operation (a node that never answers becomes unknown after it) */
  clientTimeoutMs: number;
  /** the server-side timeout_ms sent with HTTP requests */
  serverTimeoutMs: number;
  random: () => number;
  gate: Gate;
  /** operations each workload may still start (every loop is bounded in operations as well as time) */
  budget: Map<WorkloadName, number>;
}

export function pick<T>(env: WorkloadEnv, items: readonly T[]): T {
  return items[Math.floor(env.random() * items.length)];
}

/** takes one operation from the workload's budget; false when it is spent */
export function takeOp(env: WorkloadEnv, workload: WorkloadName): boolean {
  const left = env.budget.get(workload) ?? 0;
  if (left <= 0) return false;
  env.budget.set(workload, left - 1);
  return true;
}

/**
 * runs body against `node` until the gate stops, the budget is spent or the node no longer takes
 * client traffic (it left or was removed); thinkMs paces the worker between operations
 */
export async function workerLoop(env: WorkloadEnv, workload: WorkloadName, node: TargetNode, thinkMs: number, body: () => Promise<void>): Promise<void> {
  while (env.nodes.includes(node) && (await env.gate.enter())) {
    let more = true;
    try {
      more = takeOp(env, workload);
      if (more) await body();
    } finally {
      env.gate.leave();
    }
    if (!more) return;
    await pause(thinkMs * (0.5 + env.random()));
  }
}

export type OpFields = Pick<OpRecord, 'workload' | 'f' | 'key' | 'node'> & Partial<Pick<OpRecord, 'value'>>;
export interface OpResult {
  outcome: Outcome;
  result?: OpRecord['result'];
  error?: string;
}

/** times one operation and appends it to the history */
export async function recordOp(env: WorkloadEnv, fields: OpFields, fn: () => Promise<OpResult>): Promise<OpRecord> {
  const id = env.history.opId();
  const invokeMs = env.history.nowMs();
  let r: OpResult;
  try {
    r = await fn();
  } catch (e) {
    r = { outcome: 'unknown', error: `harness: ${(e as Error).message}` };
  }
  const rec: OpRecord = { type: 'op', id, ...fields, invokeMs, completeMs: env.history.nowMs(), outcome: r.outcome };
  if (r.result !== undefined) rec.result = r.result;
  if (r.error !== undefined) rec.error = r.error;
  env.history.add(rec);
  return rec;
}
