/**
 * A convergence check: with the clients stopped and every fault healed, each key is read at r=n
 * (which also repairs stale replicas), then every replica's stored object is read directly until all
 * replicas hold the same versions or the time runs out. Keys written to concurrently by many clients
 * (the shared set, the counters, the register) are also read through every node, and those answers
 * must agree too. Each key's outcome and the value the r=n read returned go into the history, where the
 * checkers take the values as what survived.
 */
import type { ConvergenceRecord, HistoryRecorder, WorkloadName } from './history.js';
import { httpGet } from './http-kv.js';
import type { ReplicaProbe, ReplicaState } from './replica-probe.js';
import { RespConnection } from './resp-client.js';
import { pause } from './sys.js';
import { compactElements, decodeElements, unionOfSiblings } from './workloads/elements.js';
import type { TargetNode } from './workloads/env.js';

/** how a key's value reads: a set of elements (union of siblings), plain values, a counter, the RESP register */
export type KeyKind = 'elements' | 'values' | 'counter' | 'register';

export interface KeyToCheck {
  workload: WorkloadName;
  key: string;
  kind: KeyKind;
  /** read through every node as well */
  everyNode: boolean;
}

export interface ConvergenceEnv {
  history: HistoryRecorder;
  nodes: TargetNode[];
  probe: ReplicaProbe;
  n: number;
  requestTimeoutMs: number;
  clientTimeoutMs: number;
}

const CONCURRENCY = 16;
/** one key may take this long, so a key that never converges cannot starve the others of the check's time */
const KEY_TIME_LIMIT_MS = 5000;
/** between polls of a key's replicas, while read repair catches a stale one up */
const RETRY_PAUSE_MS = 50;

function valueOf(kind: KeyKind, siblings: Buffer[]): string[] | string | null {
  if (siblings.length === 0) return null;
  if (kind === 'elements' || kind === 'register') return compactElements(unionOfSiblings(siblings));
  if (kind === 'counter') return siblings.map((s) => s.toString('utf8')).join(',');
  return siblings.map((s) => s.toString('utf8')).sort();
}

function describeReplicas(states: Map<string, ReplicaState>): string {
  return [...states.entries()].map(([id, s]) => `${id}=${'error' in s ? `error(${s.error.slice(0, 80)})` : (s.digest ?? 'none')}`).join(' ');
}

function replicasAgree(states: Map<string, ReplicaState>): boolean {
  const digests = [...states.values()].map((s) => ('error' in s ? undefined : s.digest));
  return digests.length > 0 && digests.every((d) => d !== undefined && d === digests[0]);
}

async function readRegisterEverywhere(env: ConvergenceEnv, key: string): Promise<Array<string | undefined>> {
  return Promise.all(
    env.nodes.map(async (node) => {
      const conn = new RespConnection(node.address, node.respPort);
      try {
        const reply = await conn.call(['GET', key], env.clientTimeoutMs);
        if (reply.kind !== 'bulk') return undefined;
        return reply.value ? decodeElements(reply.value).sort().join(' ') : '';
      } catch {
        return undefined;
      } finally {
        conn.close();
      }
    }),
  );
}

async function checkKey(env: ConvergenceEnv, check: number, k: KeyToCheck, checkDeadline: number, turn: number): Promise<ConvergenceRecord> {
  const deadline = Math.min(checkDeadline, Date.now() + KEY_TIME_LIMIT_MS);
  const timeouts = { r: env.n, serverTimeoutMs: env.requestTimeoutMs, clientTimeoutMs: env.clientTimeoutMs };
  let value: ConvergenceRecord['value'] = null;
  let readOk = false;
  let detail = 'not checked: the check ran out of time';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (attempt > 0) await pause(RETRY_PAUSE_MS);
    const node = env.nodes[(turn + attempt) % env.nodes.length];
    let read;
    try {
      read = await httpGet(node.httpUrl, k.key, timeouts);
    } catch (e) {
      detail = `r=${env.n} read through ${node.id} failed: ${(e as Error).message}`;
      continue;
    }
    if (!read.siblings) {
      detail = `r=${env.n} read through ${node.id} answered ${read.res.status} ${read.res.body.toString('utf8').slice(0, 400)}`;
      continue;
    }
    value = valueOf(k.kind, read.siblings);
    readOk = true;
    const states = await env.probe.states(k.key, env.requestTimeoutMs);
    if (!replicasAgree(states)) {
      detail = `replicas differ: ${describeReplicas(states)}`;
      continue;
    }
    if (k.everyNode) {
      const answers = await Promise.all(
        env.nodes.map(async (other) => {
          try {
            const a = await httpGet(other.httpUrl, k.key, timeouts);
            return a.siblings ? JSON.stringify([valueOf(k.kind, a.siblings), a.context]) : `status ${a.res.status}`;
          } catch (e) {
            return `error ${(e as Error).message}`;
          }
        }),
      );
      if (answers.some((a) => a !== answers[0])) {
        detail = `r=${env.n} reads through different nodes answered differently: ${answers.map((a, i) => `${env.nodes[i].id}: ${a.slice(0, 100)}`).join(' | ')}`;
        continue;
      }
    }
    if (k.kind === 'register') {
      const seen = await readRegisterEverywhere(env, k.key);
      if (seen.some((s) => s === undefined || s !== seen[0])) {
        detail = `RESP GET through different nodes answered differently: ${seen.map((s, i) => `${env.nodes[i].id}: ${s === undefined ? 'error' : `${s.split(' ').length} elements`}`).join(', ')}`;
        continue;
      }
      value = seen[0] === '' ? null : compactElements((seen[0] as string).split(' '));
    }
    return { type: 'converge', check, workload: k.workload, key: k.key, converged: true, read: true, value, atMs: env.history.nowMs() };
  }
  return { type: 'converge', check, workload: k.workload, key: k.key, converged: false, read: readOk, value, detail, atMs: env.history.nowMs() };
}

/** checks every key (a few at a time) within timeLimitMs; records and returns one record per key */
export async function convergenceCheck(env: ConvergenceEnv, check: number, keys: KeyToCheck[], timeLimitMs: number): Promise<ConvergenceRecord[]> {
  const deadline = Date.now() + timeLimitMs;
  const out: ConvergenceRecord[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < keys.length) {
        const i = next++;
        const rec = await checkKey(env, check, keys[i], deadline, i);
        env.history.add(rec);
        out.push(rec);
      }
    }),
  );
  return out;
}
