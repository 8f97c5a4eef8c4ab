/**
 * The real runtime's ReplicationObserver: times client requests and replica requests with a
 * high-resolution clock and feeds the coordinator's Prometheus histograms, the rolling request figures
 * of the node status, and the PBS sampler (see pbs-sampler.ts for how the four one-way latencies are
 * derived from a round trip and the replica's service time).
 */
import { performance } from 'node:perf_hooks';
import type { Histogram } from 'prom-client';
import type { NodeId } from '../core/member.js';
import { serviceTimeUs, type CoordinatedOperation, type ReplicaRequestKind, type ReplicationObserver } from '../cluster/replication-observer.js';
import type { Message } from '../cluster/runtime.js';
import type { NodeMetrics } from '../api/metrics.js';
import type { PbsSampler } from './pbs-sampler.js';
import type { RollingRequestStats } from './request-stats.js';

/** buckets for "replies waited for": quorum sizes 1..16 */
const QUORUM_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16];

export interface ReplicationInstrumentsOptions {
  metrics: NodeMetrics;
  requests: RollingRequestStats;
  pbs: PbsSampler;
  /** monotonic ms with sub-ms resolution @default performance.now */
  monotonicMs?: () => number;
  /** wall-clock ms, for the per-second request slots @default Date.now */
  wallMs?: () => number;
}

export class ReplicationInstruments implements ReplicationObserver {
  private readonly requests: RollingRequestStats;
  private readonly pbs: PbsSampler;
  private readonly now: () => number;
  private readonly wallNow: () => number;
  private readonly duration: Histogram<'operation' | 'outcome'>;
  private readonly quorum: Histogram<'kind'>;
  private readonly replicaRtt: Histogram<'kind'>;
  private readonly legs: Histogram<'leg'>;
  private readonly durationChildren = new Map<string, Histogram.Internal<'operation' | 'outcome'>>();

  constructor(opts: ReplicationInstrumentsOptions) {
    this.requests = opts.requests;
    this.pbs = opts.pbs;
    this.now = opts.monotonicMs ?? (() => performance.now());
    this.wallNow = opts.wallMs ?? (() => Date.now());
    this.duration = opts.metrics.histogram({
      name: 'ringkv_coordinator_request_duration_seconds',
      help: 'client requests coordinated by this node (HTTP and RESP), by operation and outcome (ok or the error code)',
      labelNames: ['operation', 'outcome'],
    });
    this.quorum = opts.metrics.histogram({
      name: 'ringkv_coordinator_quorum_replies',
      help: 'replica replies a coordinated request waited for (its r or w), by kind (read, write)',
      labelNames: ['kind'],
      buckets: QUORUM_BUCKETS,
    });
    this.replicaRtt = opts.metrics.histogram({
      name: 'ringkv_coordinator_replica_round_trip_seconds',
      help: 'round trip of a replicate (write) or read request to a peer replica, including its service time',
      labelNames: ['kind'],
    });
    this.legs = opts.metrics.histogram({
      name: 'ringkv_pbs_leg_latency_seconds',
      help: 'the four one-way latencies of the PBS model (write, ack, read, response), from round trips and replica service times',
      labelNames: ['leg'],
    });
    // the series exist from start-up, with zero samples
    for (const op of ['get', 'put', 'delete', 'increment']) this.durationChild(op, 'ok');
    for (const kind of ['read', 'write']) {
      this.quorum.labels({ kind });
      this.replicaRtt.labels({ kind });
    }
    for (const leg of ['write', 'ack', 'read', 'response']) this.legs.labels({ leg });
  }

  requestStarted(operation: CoordinatedOperation, quorum: number, localReplica: boolean): (error?: unknown) => void {
    const started = this.now();
    if (operation === 'get') this.pbs.recordRead(localReplica);
    this.quorum.labels({ kind: operation === 'get' ? 'read' : 'write' }).observe(quorum);
    let ended = false;
    return (error?: unknown) => {
      if (ended) return;
      ended = true;
      const ms = this.now() - started;
      this.durationChild(operation, error === undefined ? 'ok' : outcomeOf(error)).observe(ms / 1000);
      this.requests.record(operation, ms, error === undefined, this.wallNow());
    };
  }

  replicaRequestSent(kind: ReplicaRequestKind, _to: NodeId): (reply: Message) => void {
    const sent = this.now();
    return (reply: Message) => {
      const rttMs = this.now() - sent;
      this.replicaRtt.labels({ kind }).observe(rttMs / 1000);
      const serviceMs = Math.min(rttMs, (serviceTimeUs(reply) ?? 0) / 1000);
      const half = (rttMs - serviceMs) / 2;
      if (kind === 'write') {
        this.leg('write', half + serviceMs);
        this.leg('ack', half);
      } else {
        this.leg('read', half);
        this.leg('response', half + serviceMs);
      }
    };
  }

  serviceTimer(): () => number {
    const started = this.now();
    return () => Math.round((this.now() - started) * 1000);
  }

  private leg(leg: 'write' | 'ack' | 'read' | 'response', ms: number): void {
    this.pbs.record(leg, ms);
    this.legs.labels({ leg }).observe(ms / 1000);
  }

  private durationChild(operation: string, outcome: string): Histogram.Internal<'operation' | 'outcome'> {
    const key = `${operation} ${outcome}`;
    let child = this.durationChildren.get(key);
    if (child === undefined) {
      child = this.duration.labels({ operation, outcome });
      // bounded: four operations times the error codes of src/core/errors.ts
      if (this.durationChildren.size < 500) this.durationChildren.set(key, child);
    }
    return child;
  }
}

function outcomeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? code.toLowerCase() : 'internal';
}
