/**
 * One Prometheus registry per node. Every subsystem registers its metrics here (names
 * `ringkv_<subsystem>_<what>_<unit>`) and GET /metrics serves it. The get-or-create helpers make
 * registration idempotent, so two parts of a node (or a restart in tests) can ask for the same
 * metric without prom-client's "already registered" error. A registry per node, not the global one,
 * lets tests run several nodes in one process.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  buckets?: number[];
}

/** Latency buckets in seconds, 100 µs to 10 s: fine enough at the bottom for a local cluster. */
export const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class NodeMetrics {
  readonly registry: Registry;

  constructor(opts: { nodeId?: string; processMetrics?: boolean } = {}) {
    this.registry = new Registry();
    if (opts.nodeId !== undefined) this.registry.setDefaultLabels({ node: opts.nodeId });
    // process metrics (CPU, heap, event-loop lag) under ringkv_process_*; off in unit tests
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'ringkv_' });
  }

  /** collect, when given, runs at scrape time (e.g. to catch up with a count kept elsewhere) */
  counter<L extends string>(o: MetricOptions<L> & { collect?: (this: Counter<L>) => void | Promise<void> }): Counter<L> {
    const existing = this.registry.getSingleMetric(o.name);
    if (existing) return existing as Counter<L>;
    return new Counter<L>({ name: o.name, help: o.help, labelNames: o.labelNames ?? [], registers: [this.registry], ...(o.collect ? { collect: o.collect } : {}) });
  }

  gauge<L extends string>(o: MetricOptions<L> & { collect?: (this: Gauge<L>) => void | Promise<void> }): Gauge<L> {
    const existing = this.registry.getSingleMetric(o.name);
    if (existing) return existing as Gauge<L>;
    return new Gauge<L>({ name: o.name, help: o.help, labelNames: o.labelNames ?? [], registers: [this.registry], ...(o.collect ? { collect: o.collect } : {}) });
  }

  /**
   * A counter that mirrors a running total kept elsewhere (a plain number bumped on the hot path):
   * at each scrape it advances by what was counted since the last one. With labelNames, read returns
   * the totals per label value of the first label.
   */
  runningTotal(name: string, help: string, read: () => number): Counter<string>;
  runningTotal<L extends string>(name: string, help: string, read: () => Iterable<[string, number]>, labelName: L): Counter<L>;
  runningTotal(name: string, help: string, read: () => number | Iterable<[string, number]>, labelName?: string): Counter<string> {
    const exported = new Map<string, number>();
    return this.counter({
      name,
      help,
      ...(labelName !== undefined ? { labelNames: [labelName] } : {}),
      collect() {
        const now = read();
        const totals: Iterable<[string, number]> = typeof now === 'number' ? [['', now]] : now;
        for (const [label, total] of totals) {
          const before = exported.get(label) ?? 0;
          if (total > before) {
            if (labelName === undefined) this.inc(total - before);
            else this.inc({ [labelName]: label }, total - before);
          }
          exported.set(label, total);
        }
      },
    });
  }

  histogram<L extends string>(o: HistogramOptions<L>): Histogram<L> {
    const existing = this.registry.getSingleMetric(o.name);
    if (existing) return existing as Histogram<L>;
    return new Histogram<L>({
      name: o.name,
      help: o.help,
      labelNames: o.labelNames ?? [],
      buckets: o.buckets ?? LATENCY_BUCKETS_SECONDS,
      registers: [this.registry],
    });
  }

  /** Prometheus text exposition of every registered metric. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
