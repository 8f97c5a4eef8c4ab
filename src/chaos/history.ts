/**
 * The run's history: every operation with its invoke and complete times and outcome, every fault
 * window, every convergence read, every unexpected node exit. Written as JSON lines as it happens and
 * read back unchanged by `--replay`, so the checkers see the same records live and offline.
 *
 * Outcomes: ok = acknowledged; fail = certainly not applied (refused before any node could act on it,
 * or a 4xx); unknown = may have been applied (a timeout, a lost connection, any 5xx on a write).
 */
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

export type Outcome = 'ok' | 'fail' | 'unknown';
export type WorkloadName = 'set-full' | 'counter' | 'register';
export const WORKLOADS: readonly WorkloadName[] = ['set-full', 'counter', 'register'];

export interface OpRecord {
  type: 'op';
  id: number;
  workload: WorkloadName;
  /**
   * add: set-full (a unique key written once, or an element added to the shared key) and register
   * (an element added to the register's set); read: a read of a key; incr: INCRBY on a counter
   */
  f: 'add' | 'read' | 'incr';
  key: string;
  /** the node the client sent the operation to */
  node: string;
  /** add: the element; incr: the delta */
  value?: string | number;
  /** read: the elements seen (set-full, register) or values (unique keys); incr: the reply */
  result?: string[] | string;
  invokeMs: number;
  completeMs: number;
  outcome: Outcome;
  error?: string;
}

export interface FaultRecord {
  type: 'fault';
  /** position in the schedule */
  step: number;
  nemesis: string;
  description: string;
  /** the nodes on the minority side (cut off, down, paused, full); the others are the majority side */
  affected: string[];
  startMs: number;
  /** the fault is in place */
  appliedMs: number;
  /** healing began */
  endMs: number;
  /** healing finished */
  healedMs: number;
}

export interface ConvergenceRecord {
  type: 'converge';
  /** the convergence check this read belongs to (0, 1, ...) */
  check: number;
  workload: WorkloadName;
  key: string;
  /** every replica holds the same versions (and every node's r=n read answered the same) */
  converged: boolean;
  /** the r=n read after healing succeeded (otherwise value says nothing) */
  read: boolean;
  /** what that read returned: elements, values, or the counter's value; null = not found */
  value: string[] | string | null;
  /** why it did not converge, or why the read failed */
  detail?: string;
  atMs: number;
}

export interface CheckRecord {
  type: 'check';
  check: number;
  /** the fault window just before it, or 'start' */
  after: string;
  startMs: number;
  endMs: number;
}

export interface NodeExitRecord {
  type: 'node-exit';
  node: string;
  code: number | null;
  signal: string | null;
  atMs: number;
}

export interface MetaRecord {
  type: 'meta';
  version: 1;
  startedAt: string;
  nodes: string[];
  n: number;
  r: number;
  w: number;
  requestTimeoutMs: number;
  clientTimeoutMs: number;
  commitlogSync: string;
  schedule: string;
  seed: number;
}

export type HistoryRecord = OpRecord | FaultRecord | ConvergenceRecord | CheckRecord | NodeExitRecord | MetaRecord;

/** keeps the records in memory for the checkers and appends each to a JSON-lines file */
export class HistoryRecorder {
  readonly records: HistoryRecord[] = [];
  private readonly out: WriteStream | undefined;
  private nextId = 1;
  private readonly t0 = performance.now();

  constructor(path?: string) {
    this.out = path ? createWriteStream(path) : undefined;
  }

  /** milliseconds since the run began (monotonic) */
  nowMs(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }

  opId(): number {
    return this.nextId++;
  }

  add(record: HistoryRecord): void {
    this.records.push(record);
    this.out?.write(`${JSON.stringify(record)}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.out ? this.out.end(resolve) : resolve()));
  }
}

export class HistoryFormatError extends Error {}

export function parseHistory(text: string, where: string): HistoryRecord[] {
  const out: HistoryRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new HistoryFormatError(`${where}:${i + 1}: not JSON: ${(e as Error).message}`);
    }
    const type = (rec as { type?: unknown })?.type;
    if (!['op', 'fault', 'converge', 'check', 'node-exit', 'meta'].includes(type as string)) {
      throw new HistoryFormatError(`${where}:${i + 1}: unknown record type ${JSON.stringify(type)}`);
    }
    out.push(rec as HistoryRecord);
  });
  return out;
}

export function readHistory(path: string): HistoryRecord[] {
  return parseHistory(readFileSync(path, 'utf8'), path);
}
