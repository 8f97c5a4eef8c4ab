/**
 * One typed status of a node: what /cluster/status serves, what the dashboard, `ringkv status`,
 * `ringkv info`, `ringkv top` and RESP INFO read. Built from ClusterNode's public introspection
 * (members, ring, warnings, identity, replication counters) plus what the runtime measures (requests,
 * storage, transport, PBS).
 *
 * Sections of subsystems are optional and absent until a provider is plugged in through
 * NodeStatusSources: hinted handoff (ClusterNode.hints), anti-entropy (ClusterNode.antiEntropy) and
 * partition transfers (ClusterNode.transfers).
 */
import type { AaeStats } from '../cluster/anti-entropy/aae-service.js';
import type { TransferStatus } from '../cluster/transfers/partition-transfers.js';
import type { EngineStats } from '../storage/engine.js';
import type { PbsStatus } from './pbs-sampler.js';
import type { OperatorRepair } from './repair-tracker.js';
import type { RequestFigures, RequestSeries } from './request-stats.js';

export const NODE_STATUS_VERSION = 1;

export interface MemberRow {
  id: string;
  address: string;
  httpAddress: string | null;
  zone: string | null;
  weight: number;
  /** as this node's member table says (static membership today: always `up`) */
  status: string;
  phi: number | null;
  heartbeat: number | null;
  incarnation: number | null;
  /** partitions whose first replica this member is */
  partitionsOwned: number;
  /** partitions this member holds a replica of (in the first N of the preference list) */
  replicasHeld: number;
}

export interface PendingMove {
  partition: number;
  /** replicas that leave the partition's preference list, and those that join it */
  from: string[];
  to: string[];
  /** known to a receiving node; null elsewhere */
  percent: number | null;
  stalled: boolean;
}

export interface RingSummary {
  partitions: number;
  n: number;
  /** ring epoch, once ring changes exist (null with static membership) */
  epoch: number | null;
  /** the owner (first replica) of each partition, by partition number */
  owners: string[];
  pending: PendingMove[];
}

export interface StorageFigures {
  engine: string;
  keys: number | null;
  bytesOnDisk: number | null;
  /** everything the engine reports, by name */
  stats: Record<string, number>;
}

export interface ReplicationFigures {
  readRepairs: number;
  staleReplies: number;
  writeRetriesDeduplicated: number;
  clockOffsetClamps: number;
  largeVersionVectors: number;
  actorRetirements: number;
}

export interface TransportFigures {
  connections: number;
  pendingRequests: number;
  outboundQueueBytes: number;
  bytesSent: number;
  bytesReceived: number;
  framesSent: number;
  framesReceived: number;
  reconnects: number;
  dialFailures: number;
  /** connections refused because the other end did not prove the cluster secret */
  authRefused: number;
  requestsTimedOut: number;
}

/** hinted handoff: hints this node holds for replicas that were down (as a stand-in or coordinator) */
export interface HintsStatus {
  pendingCount: number;
  pendingBytes: number;
  oldestAgeMs: number | null;
  storedTotal: number;
  deliveredTotal: number;
  droppedTotal: number;
  /** hints handed back per second in the latest replay */
  replayedPerSec: number;
  targets: Array<{ node: string; count: number; bytes: number; oldestAgeMs: number | null }>;
}

/** active anti-entropy: the AntiEntropy service's counters, and the latest operator repair */
export interface AntiEntropyStatus extends Omit<AaeStats, 'fullRepairDone' | 'fullRepairTotal'> {
  /** scheduled exchanges run (aaeEnabled) */
  enabled: boolean;
  /** the latest full repair (at start after lost state, or asked for): partitions done of total */
  fullRepair: { done: number; total: number };
  /** the latest `ringkv repair` on this node, if any */
  operatorRepair: OperatorRepair | null;
}

/** partitions this node is pulling during a ring change (from ClusterNode.transfers) */
export interface TransfersStatus {
  inbound: TransferStatus[];
}

export interface NodeStatus {
  version: typeof NODE_STATUS_VERSION;
  node: string;
  incarnation: number;
  actor: string;
  /** wall clock of the snapshot, epoch ms */
  timeMs: number;
  uptimeMs: number;
  config: { n: number; r: number; w: number; partitions: number };
  warnings: string[];
  /** where member states come from: the configured list (all `up`), or gossip and failure detection */
  membership: 'static' | 'gossip';
  members: MemberRow[];
  ring: RingSummary;
  requests: RequestFigures;
  /** per-second history, only when asked for (?series=seconds) */
  series?: RequestSeries;
  storage: StorageFigures;
  replication: ReplicationFigures;
  transport: TransportFigures | null;
  pbs: PbsStatus;
  hints?: HintsStatus;
  antiEntropy?: AntiEntropyStatus;
  transfers?: TransfersStatus;
}

/** What ClusterNode shows of itself (its public introspection). */
export interface ClusterNodeView {
  readonly self: string;
  readonly config: { n: number; r: number; w: number; partitions: number; aaeEnabled?: boolean };
  readonly identity: { incarnation: number; actor: string; retirements: number };
  readonly stats: { readRepairs: number; staleReplies: number; writeRetriesDeduplicated: number; clockOffsetClamps: number; largeVersionVectors: number };
  ringJson(): object;
  membersJson(): object[];
  healthWarnings(): string[];
  /** the gossip membership, when the node runs one */
  readonly cluster?: unknown;
}

export interface NodeStatusSources {
  node: ClusterNodeView;
  engineKind: string;
  engineStats(): EngineStats;
  requests(nowMs: number): RequestFigures;
  series?(nowMs: number, seconds: number): RequestSeries;
  pbs(nowMs: number): PbsStatus;
  transport?(): TransportFigures;
  /** plugged in by the subsystems when they exist */
  hints?(nowMs: number): HintsStatus;
  antiEntropy?(nowMs: number): AntiEntropyStatus;
  transfers?(nowMs: number): TransfersStatus;
}

export function buildNodeStatus(src: NodeStatusSources, nowMs: number, startedAtMs: number, opts: { seriesSeconds?: number } = {}): NodeStatus {
  const { node } = src;
  const ringJson = node.ringJson();
  const ring = ringSummary(ringJson, node.config);
  const owned = new Map<string, number>();
  for (const o of ring.owners) owned.set(o, (owned.get(o) ?? 0) + 1);
  const held = replicasHeld(ringJson);
  const members = (node.membersJson() as Array<Record<string, unknown>>).map((m): MemberRow => {
    const id = String(m.id);
    return {
      id,
      address: String(m.address ?? ''),
      httpAddress: typeof m.httpAddress === 'string' ? m.httpAddress : null,
      zone: typeof m.zone === 'string' ? m.zone : null,
      weight: typeof m.weight === 'number' ? m.weight : 1,
      status: typeof m.status === 'string' ? m.status : 'unknown',
      phi: typeof m.phi === 'number' ? m.phi : null,
      heartbeat: typeof m.heartbeat === 'number' ? m.heartbeat : null,
      incarnation: typeof m.incarnation === 'number' ? m.incarnation : null,
      partitionsOwned: owned.get(id) ?? 0,
      replicasHeld: held.get(id) ?? 0,
    };
  });
  const engineStats = src.engineStats();
  const stats: Record<string, number> = {};
  for (const [k, v] of Object.entries(engineStats)) if (typeof v === 'number') stats[k] = v;
  const status: NodeStatus = {
    version: NODE_STATUS_VERSION,
    node: node.self,
    incarnation: node.identity.incarnation,
    actor: node.identity.actor,
    timeMs: nowMs,
    uptimeMs: Math.max(0, nowMs - startedAtMs),
    config: { n: node.config.n, r: node.config.r, w: node.config.w, partitions: node.config.partitions },
    warnings: node.healthWarnings(),
    membership: node.cluster !== undefined ? 'gossip' : 'static',
    members,
    ring,
    requests: src.requests(nowMs),
    storage: { engine: src.engineKind, keys: engineStats.keys ?? null, bytesOnDisk: engineStats.bytesOnDisk ?? null, stats },
    replication: {
      readRepairs: node.stats.readRepairs,
      staleReplies: node.stats.staleReplies,
      writeRetriesDeduplicated: node.stats.writeRetriesDeduplicated,
      clockOffsetClamps: node.stats.clockOffsetClamps,
      largeVersionVectors: node.stats.largeVersionVectors,
      actorRetirements: node.identity.retirements,
    },
    transport: src.transport?.() ?? null,
    pbs: src.pbs(nowMs),
  };
  // no history from before the node started
  if (opts.seriesSeconds !== undefined && src.series) status.series = src.series(nowMs, Math.min(opts.seriesSeconds, Math.ceil(status.uptimeMs / 1000)));
  if (src.hints) status.hints = src.hints(nowMs);
  if (src.antiEntropy) status.antiEntropy = src.antiEntropy(nowMs);
  if (src.transfers) status.transfers = src.transfers(nowMs);
  return status;
}

/** reads /cluster/ring's JSON (today's, plus `epoch` and `pending` once ring changes exist) */
export function ringSummary(json: object, config: { n: number; partitions: number }): RingSummary {
  const ring = json as { Q?: number; N?: number; epoch?: unknown; partitions?: Array<{ partition: number; owner: string }>; pending?: unknown };
  const partitions = ring.Q ?? config.partitions;
  const owners: string[] = new Array(partitions).fill('');
  for (const p of ring.partitions ?? []) if (p.partition >= 0 && p.partition < partitions) owners[p.partition] = p.owner;
  const pending: PendingMove[] = Array.isArray(ring.pending)
    ? (ring.pending as Array<Record<string, unknown>>).map((m) => ({
        partition: Number(m.partition),
        from: (Array.isArray(m.from) ? m.from : [m.from]).map(String),
        to: (Array.isArray(m.to) ? m.to : [m.to]).map(String),
        percent: typeof m.percent === 'number' ? m.percent : null,
        stalled: m.stalled === true,
      }))
    : [];
  return { partitions, n: ring.N ?? config.n, epoch: typeof ring.epoch === 'number' ? ring.epoch : null, owners, pending };
}

function replicasHeld(json: object): Map<string, number> {
  const held = new Map<string, number>();
  for (const p of (json as { partitions?: Array<{ preferenceList?: string[] }> }).partitions ?? []) {
    for (const id of p.preferenceList ?? []) held.set(id, (held.get(id) ?? 0) + 1);
  }
  return held;
}
