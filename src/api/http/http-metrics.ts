/**
 * Request counters and latency histograms per method, route and status. Label children are cached
 * so the hot path does one map lookup instead of hashing label sets on every request.
 */
import type { Counter, Histogram } from 'prom-client';
import type { NodeMetrics } from '../metrics.js';

type Labels = 'method' | 'route' | 'status';

export class HttpMetrics {
  private readonly requests: Counter<Labels>;
  private readonly durations: Histogram<Labels>;
  private readonly children = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<Labels> }>();

  constructor(metrics: NodeMetrics) {
    this.requests = metrics.counter({ name: 'ringkv_http_requests_total', help: 'HTTP requests served, by method, route and status', labelNames: ['method', 'route', 'status'] });
    this.durations = metrics.histogram({ name: 'ringkv_http_request_duration_seconds', help: 'HTTP request latency, by method, route and status', labelNames: ['method', 'route', 'status'] });
  }

  observe(method: string, route: string, status: number, durationMs: number): void {
    const key = `${method} ${route} ${status}`;
    let child = this.children.get(key);
    if (child === undefined) {
      const labels = { method, route, status: String(status) };
      child = { count: this.requests.labels(labels), duration: this.durations.labels(labels) };
      // bounded: routes are the registered patterns (or "unmatched"), statuses a handful
      if (this.children.size < 1000) this.children.set(key, child);
    }
    child.count.inc();
    child.duration.observe(durationMs / 1000);
  }
}
