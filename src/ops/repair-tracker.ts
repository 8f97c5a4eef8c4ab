/**
 * `ringkv repair`: an anti-entropy exchange of every partition this node replicates (or of one),
 * asked for by an operator, run by the node's AntiEntropy service (one exchange at a time, under its
 * byte-rate limit). One operator repair at a time per node; its progress and outcome show in the
 * node status (antiEntropy.operatorRepair), which the CLI follows with a progress bar.
 */
import { RingkvError } from '../core/errors.js';
import type { AaeStats, ExchangeResult } from '../cluster/anti-entropy/aae-service.js';

export interface OperatorRepair {
  id: number;
  /** null = every partition this node replicates */
  partition: number | null;
  startedAtMs: number;
  finishedAtMs: number | null;
  running: boolean;
  partitionsDone: number;
  partitionsTotal: number;
  /** exchanges that ran (one per partition and peer replica), and those that failed (peer unreachable, timeout) */
  exchanges: number;
  exchangesFailed: number;
  segmentsDiffering: number;
  keysPushed: number;
  keysPulled: number;
  error: string | null;
}

export interface RepairableAntiEntropy {
  readonly stats: AaeStats;
  myPartitions(): number[];
  repairAll(reason: string, only?: number): Promise<ExchangeResult[]>;
}

export class RepairTracker {
  private current: OperatorRepair | undefined;
  private nextId = 1;

  constructor(
    private readonly aae: RepairableAntiEntropy,
    private readonly replicasOf: (partition: number) => readonly string[],
    private readonly self: string,
    private readonly partitions: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** the latest operator repair, with live progress while it runs */
  latest(): OperatorRepair | undefined {
    const r = this.current;
    if (r === undefined || !r.running) return r;
    return { ...r, partitionsDone: this.aae.stats.fullRepairDone, partitionsTotal: this.aae.stats.fullRepairTotal };
  }

  /** starts one (or returns the one running); throws BAD_PARAMETER for a partition this node does not replicate */
  start(partition?: number): { repair: OperatorRepair; alreadyRunning: boolean } {
    if (this.current?.running) return { repair: this.latest()!, alreadyRunning: true };
    if (partition !== undefined) {
      const q = this.partitions();
      if (!Number.isInteger(partition) || partition < 0 || partition >= q) throw new RingkvError('BAD_PARAMETER', `partition must be an integer from 0 to ${q - 1}, got ${partition}`);
      const replicas = this.replicasOf(partition);
      if (!replicas.includes(this.self)) throw new RingkvError('BAD_PARAMETER', `${this.self} holds no replica of partition ${partition}; ask one of its replicas: ${replicas.join(', ')}`);
    }
    const mine = partition === undefined ? this.aae.myPartitions() : [partition];
    const expected = mine.reduce((n, p) => n + this.replicasOf(p).filter((id) => id !== this.self).length, 0);
    const repair: OperatorRepair = {
      id: this.nextId++,
      partition: partition ?? null,
      startedAtMs: this.now(),
      finishedAtMs: null,
      running: true,
      partitionsDone: 0,
      partitionsTotal: mine.length,
      exchanges: 0,
      exchangesFailed: 0,
      segmentsDiffering: 0,
      keysPushed: 0,
      keysPulled: 0,
      error: null,
    };
    this.current = repair;
    this.aae.repairAll('asked for by an operator (ringkv repair)', partition).then(
      (results) => {
        Object.assign(repair, {
          running: false,
          finishedAtMs: this.now(),
          partitionsDone: mine.length,
          exchanges: results.length,
          exchangesFailed: Math.max(0, expected - results.length),
          segmentsDiffering: results.reduce((n, r) => n + r.differingSegments, 0),
          keysPushed: results.reduce((n, r) => n + r.pushed, 0),
          keysPulled: results.reduce((n, r) => n + r.pulled, 0),
        });
      },
      (e: unknown) => Object.assign(repair, { running: false, finishedAtMs: this.now(), error: e instanceof Error ? e.message : String(e) }),
    );
    return { repair: { ...repair }, alreadyRunning: false };
  }
}
