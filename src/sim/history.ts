import type { NodeId } from '../core/member.js';
import type { Clock } from '../cluster/runtime.js';
import { isRingkvError } from '../core/errors.js';
import type { Simulation } from './simulation.js';
import { traceJson } from './stable-json.js';

export type OpKind = 'get' | 'put' | 'delete' | 'increment';

/**
 * ok = acknowledged; error = the service said it failed (it may still have been applied in part);
 * pending = no answer: the coordinator crashed or the run ended first (it may have been applied).
 */
export type OpOutcome = 'ok' | 'error' | 'pending';

/** One client operation from invocation to completion. Keys and values are strings in the history. */
export interface OpRecord {
  id: number;
  client: string;
  /** the node the client asked (the coordinator, or the node that forwards) */
  node: NodeId;
  kind: OpKind;
  key: string;
  /** put: the value written, unique per write so reads can be traced back to it */
  value?: string;
  /** increment: the delta, decimal */
  delta?: string;
  r?: number;
  w?: number;
  /** strict read: of the r replicas, this many primaries (reads ask only primaries) */
  pr?: number;
  /** strict write: of the w acknowledgements, this many from primaries (stand-ins' hints do not count) */
  pw?: number;
  /** write: id of the op whose context it carries — a read, or a put whose returned context it reuses (absent = blind write) */
  contextFromOp?: number;
  /**
   * write: the values its context covers, which it supersedes — a read's live values, or a put's own
   * value plus what that put superseded (empty for a blind write)
   */
  supersedes: string[];
  /** virtual ms since the history began */
  startMs: number;
  /** position in the history's total order of invoke/complete events: 'B started after A finished' is startSeq > endSeq */
  startSeq: number;
  endMs?: number;
  endSeq?: number;
  outcome: OpOutcome;
  errorCode?: string;
  errorMessage?: string;
  /** get: live sibling values, in the order returned */
  readValues?: string[];
  /** get: the context token returned */
  readContext?: string;
  /** increment: the counter value returned; get: the counter's value, when the key holds one */
  counterValue?: string;
  /** put: the context token it returned (supersedes its own version) */
  writeContext?: string;
}

export type InvokeFields = Omit<OpRecord, 'id' | 'startMs' | 'startSeq' | 'outcome' | 'supersedes'> & { supersedes?: string[] };

/** Records invoke/complete events in one total order; each event also goes into the simulation trace. */
export class History {
  readonly ops: OpRecord[] = [];
  private seq = 0;
  private readonly originMs: number;

  /** times in the history are virtual ms since the simulation started (since construction without one) */
  constructor(
    private readonly clock: Clock,
    private readonly sim?: Simulation,
  ) {
    this.originMs = sim?.startMs ?? clock.nowMs();
  }

  private nowMs(): number {
    return this.clock.nowMs() - this.originMs;
  }

  invoke(fields: InvokeFields): OpRecord {
    const op: OpRecord = { ...fields, supersedes: fields.supersedes ?? [], id: this.ops.length, startMs: this.nowMs(), startSeq: this.seq++, outcome: 'pending' };
    this.ops.push(op);
    this.sim?.trace(`invoke op${op.id} ${op.client}@${op.node} ${op.kind} ${op.key}${describeInvoke(op)}`);
    return op;
  }

  complete(op: OpRecord, result: Pick<OpRecord, 'readValues' | 'readContext' | 'counterValue' | 'writeContext'> = {}): void {
    this.assertPending(op);
    Object.assign(op, result, { outcome: 'ok', endMs: this.nowMs(), endSeq: this.seq++ });
    this.sim?.trace(`ok op${op.id}${op.readValues ? ` values ${traceJson(op.readValues)}` : ''}${op.counterValue !== undefined ? ` counter ${op.counterValue}` : ''}`);
  }

  fail(op: OpRecord, error: unknown): void {
    this.assertPending(op);
    const code = isRingkvError(error) ? error.code : 'NON_RINGKV_ERROR';
    const message = error instanceof Error ? error.message : String(error);
    Object.assign(op, { outcome: 'error', errorCode: code, errorMessage: message, endMs: this.nowMs(), endSeq: this.seq++ });
    this.sim?.trace(`error op${op.id} ${code}: ${message}`);
  }

  /** ops still pending (their coordinator crashed or never answered) */
  pending(): OpRecord[] {
    return this.ops.filter((o) => o.outcome === 'pending');
  }

  private assertPending(op: OpRecord): void {
    if (op.outcome !== 'pending') throw new Error(`op${op.id} completed twice`);
  }
}

function describeInvoke(op: OpRecord): string {
  const parts: string[] = [];
  if (op.value !== undefined) parts.push(`value ${op.value}`);
  if (op.delta !== undefined) parts.push(`delta ${op.delta}`);
  if (op.r !== undefined) parts.push(`r=${op.r}`);
  if (op.pr !== undefined) parts.push(`pr=${op.pr}`);
  if (op.w !== undefined) parts.push(`w=${op.w}`);
  if (op.pw !== undefined) parts.push(`pw=${op.pw}`);
  if (op.contextFromOp !== undefined) parts.push(`context of op${op.contextFromOp} covering ${traceJson(op.supersedes)}`);
  return parts.length ? ` ${parts.join(' ')}` : '';
}

/** a one-line description of an op for violation reports */
export function describeOp(op: OpRecord): string {
  const span = `[${op.startMs}..${op.endMs ?? '?'}ms]`;
  const result =
    op.outcome === 'ok'
      ? [op.readValues ? ` -> ${traceJson(op.readValues)}` : '', op.counterValue !== undefined ? ` -> counter ${op.counterValue}` : ''].join('') || ' -> ok'
      : op.outcome === 'error'
        ? ` -> ${op.errorCode}`
        : ' -> pending';
  return `op${op.id} ${op.client}@${op.node} ${op.kind} ${op.key}${describeInvoke(op)} ${span}${result}`;
}
