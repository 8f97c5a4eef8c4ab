/**
 * Per-operation request rates and latency percentiles over the last minutes, for the node status,
 * the dashboard and `ringkv top` (Prometheus histograms serve /metrics; these answer "what now"
 * without a Prometheus). One slot per second in a ring of windowSeconds; each slot keeps a count,
 * an error count and a log-binned latency histogram per operation.
 */
import { LogHistogram } from '../core/log-histogram.js';
import type { CoordinatedOperation } from '../cluster/replication-observer.js';

export const OPERATIONS: readonly CoordinatedOperation[] = ['get', 'put', 'delete', 'increment'];

export interface OperationFigures {
  /** requests per second over the last rateWindowSeconds */
  ratePerSec: number;
  /** failed requests per second over the same window */
  errorsPerSec: number;
  /** over the last percentileWindowSeconds; null when there were no requests */
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  /** requests counted since the node started */
  total: number;
}

export interface RequestFigures {
  rateWindowSeconds: number;
  percentileWindowSeconds: number;
  operations: Record<CoordinatedOperation, OperationFigures>;
}

/** one point per second, oldest first; per operation: requests, errors and p99 (ms, null when none) */
export interface RequestSeries {
  /** the start of each second, epoch ms */
  t: number[];
  operations: Record<CoordinatedOperation, { count: number[]; errors: number[]; p50Ms: Array<number | null>; p99Ms: Array<number | null> }>;
}

interface Slot {
  second: number;
  count: Uint32Array;
  errors: Uint32Array;
  latency: LogHistogram[];
}

export interface RequestStatsOptions {
  /** @default 300 */
  windowSeconds?: number;
  /** @default 10 */
  rateWindowSeconds?: number;
  /** @default 60 */
  percentileWindowSeconds?: number;
}

export class RollingRequestStats {
  readonly windowSeconds: number;
  readonly rateWindowSeconds: number;
  readonly percentileWindowSeconds: number;
  private readonly slots: Slot[];
  private readonly totals = new Float64Array(OPERATIONS.length);

  constructor(opts: RequestStatsOptions = {}) {
    this.windowSeconds = opts.windowSeconds ?? 300;
    this.rateWindowSeconds = opts.rateWindowSeconds ?? 10;
    this.percentileWindowSeconds = opts.percentileWindowSeconds ?? 60;
    this.slots = Array.from({ length: this.windowSeconds }, () => ({
      second: -1,
      count: new Uint32Array(OPERATIONS.length),
      errors: new Uint32Array(OPERATIONS.length),
      latency: OPERATIONS.map(() => new LogHistogram()),
    }));
  }

  record(operation: CoordinatedOperation, latencyMs: number, ok: boolean, nowMs: number): void {
    const op = OPERATIONS.indexOf(operation);
    const slot = this.slotFor(Math.floor(nowMs / 1000));
    slot.count[op]++;
    if (!ok) slot.errors[op]++;
    slot.latency[op].record(latencyMs);
    this.totals[op]++;
  }

  figures(nowMs: number): RequestFigures {
    const now = Math.floor(nowMs / 1000);
    const operations = {} as Record<CoordinatedOperation, OperationFigures>;
    OPERATIONS.forEach((name, op) => {
      let count = 0;
      let errors = 0;
      const merged = new LogHistogram();
      // the current second is partial: rates use the rateWindowSeconds full seconds before it
      for (let s = now - this.rateWindowSeconds; s < now; s++) {
        const slot = this.slotAt(s);
        if (slot) {
          count += slot.count[op];
          errors += slot.errors[op];
        }
      }
      for (let s = now - this.percentileWindowSeconds + 1; s <= now; s++) {
        const slot = this.slotAt(s);
        if (slot) merged.add(slot.latency[op]);
      }
      operations[name] = {
        ratePerSec: count / this.rateWindowSeconds,
        errorsPerSec: errors / this.rateWindowSeconds,
        p50Ms: finiteOrNull(merged.quantile(0.5)),
        p99Ms: finiteOrNull(merged.quantile(0.99)),
        p999Ms: finiteOrNull(merged.quantile(0.999)),
        total: this.totals[op],
      };
    });
    return { rateWindowSeconds: this.rateWindowSeconds, percentileWindowSeconds: this.percentileWindowSeconds, operations };
  }

  /** the last `seconds` full seconds (at most windowSeconds − 1), one point each */
  series(nowMs: number, seconds = this.windowSeconds - 1): RequestSeries {
    const now = Math.floor(nowMs / 1000);
    const span = Math.max(1, Math.min(seconds, this.windowSeconds - 1));
    const t: number[] = [];
    const operations = {} as RequestSeries['operations'];
    for (const name of OPERATIONS) operations[name] = { count: [], errors: [], p50Ms: [], p99Ms: [] };
    for (let s = now - span; s < now; s++) {
      t.push(s * 1000);
      const slot = this.slotAt(s);
      OPERATIONS.forEach((name, op) => {
        const o = operations[name];
        o.count.push(slot ? slot.count[op] : 0);
        o.errors.push(slot ? slot.errors[op] : 0);
        o.p50Ms.push(slot ? finiteOrNull(slot.latency[op].quantile(0.5)) : null);
        o.p99Ms.push(slot ? finiteOrNull(slot.latency[op].quantile(0.99)) : null);
      });
    }
    return { t, operations };
  }

  private slotAt(second: number): Slot | undefined {
    const slot = this.slots[modulo(second, this.windowSeconds)];
    return slot.second === second ? slot : undefined;
  }

  private slotFor(second: number): Slot {
    const slot = this.slots[modulo(second, this.windowSeconds)];
    if (slot.second !== second) {
      slot.second = second;
      slot.count.fill(0);
      slot.errors.fill(0);
      for (const h of slot.latency) h.clear();
    }
    return slot;
  }
}

function modulo(a: number, m: number): number {
  return ((a % m) + m) % m;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null;
}
