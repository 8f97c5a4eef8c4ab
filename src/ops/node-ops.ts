/**
 * Everything a running node does for its operators, in one place: it measures (the replication
 * observer, rolling request figures, the PBS sampler), it reports (the typed node status, the cluster
 * overview assembled from every member's status, the metrics of the transport, RESP and PBS), and it
 * feeds the dashboard's live stream. src/server.ts builds one per node.
 */
import type { NodeMetrics } from '../api/metrics.js';
import type { TransferStatus } from '../cluster/transfers/partition-transfers.js';
import { RingkvError } from '../core/errors.js';
import type { RespStats } from '../api/resp/command.js';
import type { TransportStats } from '../net/tcp-transport.js';
import type { Engine } from '../storage/engine.js';
import { ClusterWatcher, type ClusterOverview, type OverviewListener } from './cluster-watcher.js';
import { buildNodeStatus, type ClusterNodeView, type NodeStatus, type NodeStatusSources } from './node-status.js';
import { registerMembershipMetrics, registerPbsMetrics, registerRespMetrics, registerTransportMetrics } from './ops-metrics.js';
import { PbsSampler } from './pbs-sampler.js';
import { RepairTracker, type OperatorRepair, type RepairableAntiEntropy } from './repair-tracker.js';
import { ReplicationInstruments } from './replication-instruments.js';
import { RollingRequestStats } from './request-stats.js';

export interface NodeOpsOptions {
  metrics: NodeMetrics;
  /** replicas per key (the PBS predictions are for this n) */
  n: number;
  startedAtMs: number;
  /** the node's password: peers are asked for their status with it */
  password?: string;
  /** how often the cluster view is refreshed while someone watches @default 1000 */
  pollIntervalMs?: number;
  /** per status request to a peer @default 1500 */
  peerTimeoutMs?: number;
}

export interface AttachOptions {
  node: ClusterNodeView;
  /** the node's anti-entropy service, when it has one: status section and `ringkv repair` */
  antiEntropy?: RepairableAntiEntropy;
  /** the replicas of a partition, for checking a repair request */
  replicasOf?: (partition: number) => readonly string[];
  /** partitions this node is pulling in a ring change */
  transfers?: () => TransferStatus[];
  /** the node's hint store and the rate of its latest replay */
  hints?: { store: HintSource; replayedPerSec: () => number };
  engine: Engine;
  engineKind: string;
  transport?: () => TransportStats;
  resp?: () => { stats: Readonly<RespStats>; connections: number } | undefined;
  /** status sections of subsystems that exist (hints, antiEntropy, transfers) */
  sections?: Pick<NodeStatusSources, 'hints' | 'antiEntropy' | 'transfers'>;
}

export class NodeOps {
  readonly requests = new RollingRequestStats();
  readonly pbs: PbsSampler;
  readonly observer: ReplicationInstruments;
  private sources: NodeStatusSources | undefined;
  private watcher: ClusterWatcher | undefined;
  private repairs: RepairTracker | undefined;

  constructor(private readonly opts: NodeOpsOptions) {
    this.pbs = new PbsSampler({ n: opts.n, uniform: Math.random });
    this.observer = new ReplicationInstruments({ metrics: opts.metrics, requests: this.requests, pbs: this.pbs });
    registerPbsMetrics(opts.metrics, opts.n, () => this.pbs.status(Date.now()));
  }

  /** once the node and its parts exist */
  attach(a: AttachOptions): void {
    const { metrics } = this.opts;
    if (a.transport) registerTransportMetrics(metrics, a.transport);
    registerMembershipMetrics(metrics, a.node.self, () =>
      (a.node.membersJson() as Array<Record<string, unknown>>).map((m) => ({ id: String(m.id), status: String(m.status), phi: typeof m.phi === 'number' ? m.phi : null })),
    );
    if (a.resp) {
      const read = a.resp;
      registerRespMetrics(metrics, () => read() ?? { stats: EMPTY_RESP_STATS, connections: 0 });
    }
    this.sources = {
      node: a.node,
      engineKind: a.engineKind,
      engineStats: () => a.engine.stats(),
      requests: (now) => this.requests.figures(now),
      series: (now, seconds) => this.requests.series(now, seconds),
      pbs: (now) => this.pbs.status(now),
      ...(a.transport ? { transport: () => transportFigures(a.transport!()) } : {}),
      ...a.sections,
    };
    if (a.hints) {
      const { store, replayedPerSec } = a.hints;
      this.sources.hints = (now) => hintsStatus(store, replayedPerSec(), now);
    }
    if (a.transfers) {
      const inbound = a.transfers;
      this.sources.transfers = () => ({ inbound: inbound() });
    }
    const aae = a.antiEntropy;
    if (aae && a.replicasOf) {
      const repairs = (this.repairs = new RepairTracker(aae, a.replicasOf, a.node.self, () => a.node.config.partitions));
      this.sources.antiEntropy = () => {
        const { fullRepairDone, fullRepairTotal, ...counters } = aae.stats;
        return {
          ...counters,
          enabled: a.node.config.aaeEnabled !== false,
          fullRepair: { done: fullRepairDone, total: fullRepairTotal },
          operatorRepair: repairs.latest() ?? null,
        };
      };
    }
    this.watcher = new ClusterWatcher({
      self: (seconds) => this.status(seconds),
      ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
      ...(this.opts.pollIntervalMs !== undefined ? { intervalMs: this.opts.pollIntervalMs } : {}),
      ...(this.opts.peerTimeoutMs !== undefined ? { timeoutMs: this.opts.peerTimeoutMs } : {}),
    });
  }

  /** this node's status; seriesSeconds adds that much per-second history */
  status(seriesSeconds?: number): NodeStatus {
    if (!this.sources) throw new Error('NodeOps.status() before attach()');
    return buildNodeStatus(this.sources, Date.now(), this.opts.startedAtMs, seriesSeconds !== undefined ? { seriesSeconds } : {});
  }

  overview(seriesSeconds?: number): Promise<ClusterOverview> {
    if (!this.watcher) throw new Error('NodeOps.overview() before attach()');
    return this.watcher.overview(seriesSeconds);
  }

  subscribe(listener: OverviewListener): () => void {
    if (!this.watcher) throw new Error('NodeOps.subscribe() before attach()');
    return this.watcher.subscribe(listener);
  }

  /** `ringkv repair`: starts an anti-entropy exchange of every partition here (or one), or returns the running one */
  repair(partition?: number): { repair: OperatorRepair; alreadyRunning: boolean } {
    if (!this.repairs) throw new RingkvError('INTERNAL', 'this node has no anti-entropy service to run a repair with');
    return this.repairs.start(partition);
  }

  get pollIntervalMs(): number {
    return this.watcher?.intervalMs ?? this.opts.pollIntervalMs ?? 1000;
  }

  close(): void {
    this.watcher?.close();
  }
}

/** what the status needs of a HintStore */
export interface HintSource {
  readonly stats: { stored: number; delivered: number; droppedForAge: number; droppedForBytes: number };
  pendingTargets(): string[];
  targetStats(target: string): { count: number; bytes: number; oldestMs: number | undefined };
}

function hintsStatus(store: HintSource, replayedPerSec: number, nowMs: number): NonNullable<NodeStatus['hints']> {
  const targets = store.pendingTargets().map((node) => {
    const t = store.targetStats(node);
    return { node, count: t.count, bytes: t.bytes, oldestAgeMs: t.oldestMs === undefined ? null : Math.max(0, nowMs - t.oldestMs) };
  });
  const ages = targets.map((t) => t.oldestAgeMs).filter((x): x is number => x !== null);
  return {
    pendingCount: targets.reduce((n, t) => n + t.count, 0),
    pendingBytes: targets.reduce((n, t) => n + t.bytes, 0),
    oldestAgeMs: ages.length ? Math.max(...ages) : null,
    storedTotal: store.stats.stored,
    deliveredTotal: store.stats.delivered,
    droppedTotal: store.stats.droppedForAge + store.stats.droppedForBytes,
    replayedPerSec,
    targets,
  };
}

const EMPTY_RESP_STATS: RespStats = { connectionsReceived: 0, connectionsRejected: 0, commandsProcessed: 0, protocolErrors: 0, errorReplies: 0, commandsByName: new Map() };

function transportFigures(s: TransportStats): NonNullable<NodeStatus['transport']> {
  return {
    connections: s.connections,
    pendingRequests: s.pendingRequests,
    outboundQueueBytes: s.outboundQueueBytes,
    bytesSent: s.bytesSent,
    bytesReceived: s.bytesReceived,
    framesSent: s.framesSent,
    framesReceived: s.framesReceived,
    reconnects: s.reconnects,
    dialFailures: s.dialFailures,
    authRefused: s.authRefused,
    requestsTimedOut: s.requestsTimedOut,
  };
}
