/**
 * Builds a real node from a validated config: pino logger, wall clock, Math.random, TCP transport,
 * a storage engine (LSM under dataDir, or memory), the ClusterNode, the HTTP API and, when
 * respPort > 0, the RESP server.
 */
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { AdmissionControl } from './api/admission.js';
import { admittedKv } from './api/admitted-kv.js';
import { startEventLoopLagProbe } from './api/event-loop-lag.js';
import { createHttpApi } from './api/http/app.js';
import type { InfoSnapshot } from './api/resp/info.js';
import { RespServer } from './api/resp/server.js';
import { NodeMetrics } from './api/metrics.js';
import { ClusterNode } from './cluster/node.js';
import { NodeIdentity } from './cluster/node-identity.js';
import { clusterSecretOf } from './config/cluster-secret.js';
import { membersFromConfig, splitHostPort, toClusterConfig } from './config/cluster-mapping.js';
import type { RingkvConfig } from './config/schema.js';
import { createNodeClock, createNodeRandom } from './net/node-runtime.js';
import { TcpTransport } from './net/tcp-transport.js';
import { identifyPeer } from './net/identify-peer.js';
import { NodeOps } from './ops/node-ops.js';
import type { Engine } from './storage/engine.js';
import { LsmEngine } from './storage/lsm/lsm-engine.js';
import { PreadNodeFS } from './storage/lsm/pread-fs.js';
import { NodeFS } from './storage/fs/node-fs.js';
import { FileStateStore } from './storage/fs/state-file.js';
import { MemoryEngine } from './storage/memory-engine.js';

export interface RunningNode {
  readonly config: RingkvConfig;
  readonly nodeId: string;
  /** e.g. http://127.0.0.1:8001 */
  readonly httpUrl: string;
  /** the ports actually bound (differ from config only when it asked for 0) */
  readonly httpPort: number;
  readonly internalPort: number;
  /** 0 when RESP is off */
  readonly respPort: number;
  readonly node: ClusterNode;
  readonly metrics: NodeMetrics;
  /** status, overview, request figures and the PBS predictor */
  readonly ops: NodeOps;
  readonly logger: pino.Logger;
  /** stops listeners first, then the node, the transport and the engine; safe to call twice */
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  /** a logger to use instead of a new pino logger on stdout */
  logger?: pino.Logger;
}

interface Closeable {
  close(): Promise<unknown> | void;
}

export function createLogger(config: Pick<RingkvConfig, 'nodeId' | 'logLevel'>): pino.Logger {
  return pino({ level: config.logLevel, base: { node: config.nodeId } });
}

async function openEngine(config: RingkvConfig, logger: pino.Logger): Promise<Engine> {
  if (config.engine === 'memory') return new MemoryEngine();
  logger.info({ dir: config.dataDir, syncMode: config.commitlogSync }, 'opening LSM engine');
  // PreadNodeFS: point gets load SSTable blocks with a plain pread (see pread-fs.ts for the trade-off).
  return LsmEngine.open(new PreadNodeFS(), { dir: config.dataDir, syncMode: config.commitlogSync, commitLogMaxTotalBytes: config.commitlogMaxTotalBytes, skipCorrupt: config.skipCorruptCommitlog, logger: logger.child({ subsystem: 'lsm' }) });
}

function infoSnapshot(config: RingkvConfig, ops: NodeOps): InfoSnapshot {
  const status = ops.status();
  const self = status.members.find((m) => m.id === status.node);
  const prediction = status.pbs.predictions.find((p) => p.r === config.r && p.w === config.w);
  return {
    nodeId: config.nodeId,
    members: status.members.map((m) => ({ id: m.id, address: m.address, status: m.status })),
    ringPartitions: config.partitions,
    n: config.n,
    r: config.r,
    w: config.w,
    keysEstimate: status.storage.keys ?? 0,
    uptimeMs: status.uptimeMs,
    incarnation: status.incarnation,
    partitionsOwned: self?.partitionsOwned ?? 0,
    opsPerSec: Object.values(status.requests.operations).reduce((sum, o) => sum + o.ratePerSec, 0),
    pbs: prediction ? { ready: true, freshAtCommit: prediction.freshAtCommit, delta999Ms: prediction.delta999Ms } : { ready: false },
  };
}

/** Exports what the node, its engine and its admission control count, read at scrape time. */
function registerNodeMetrics(metrics: NodeMetrics, node: ClusterNode, engine: Engine, admission: AdmissionControl): void {
  // the node keeps plain running totals; each counter advances by what was counted since the last scrape
  const catchUp = (name: string, help: string, read: () => number): void => void metrics.runningTotal(name, help, read);
  catchUp('ringkv_replication_read_repairs_total', 'stale replicas repaired by reads', () => node.stats.readRepairs);
  catchUp('ringkv_replication_stale_replies_total', 'replica replies older than the merged read result', () => node.stats.staleReplies);
  catchUp('ringkv_versions_clock_offset_clamps_total', 'peer timestamps further ahead than maxClockOffsetMs, clamped instead of adopted', () => node.stats.clockOffsetClamps);
  catchUp('ringkv_versions_large_vclocks_total', 'writes leaving a version vector longer than vclockWarnCount', () => node.stats.largeVersionVectors);
  catchUp('ringkv_versions_actor_retirements_total', 'version actors retired while running (the stored state went backwards)', () => node.identity.retirements);
  catchUp('ringkv_writes_retries_deduplicated_total', 'retried writes answered with the version already minted for their write id', () => node.stats.writeRetriesDeduplicated);
  catchUp('ringkv_writes_dedup_evicted_total', 'write ids forgotten early to stay within writeDedupMaxBytes', () => node.recentWrites.stats().evictedForBytes);
  catchUp('ringkv_writes_dedup_expired_total', 'write ids forgotten after writeDedupMaxAgeMs', () => node.recentWrites.stats().expired);
  metrics.gauge({
    name: 'ringkv_writes_dedup_entries',
    help: 'write ids remembered for exactly-once retries',
    collect() {
      this.set(node.recentWrites.stats().entries);
    },
  });
  metrics.gauge({
    name: 'ringkv_writes_dedup_bytes',
    help: 'memory held by remembered write ids (estimate)',
    collect() {
      this.set(node.recentWrites.stats().bytes);
    },
  });
  const hintStats = node.hints.stats;
  catchUp('ringkv_hints_stored_total', 'hints stored for replicas that were down (as a stand-in or coordinator)', () => hintStats.stored);
  catchUp('ringkv_hints_delivered_total', 'hints handed back and deleted', () => hintStats.delivered);
  catchUp('ringkv_hints_dropped_total', 'hints dropped past the hint window or the per-target byte limit', () => hintStats.droppedForAge + hintStats.droppedForBytes);
  metrics.gauge({
    name: 'ringkv_hints_pending',
    help: 'hints held for a down replica, by target',
    labelNames: ['target'],
    collect() {
      this.reset();
      for (const t of node.hints.pendingTargets()) this.set({ target: t }, node.hints.targetStats(t).count);
    },
  });
  metrics.gauge({
    name: 'ringkv_hints_pending_bytes',
    help: 'bytes of hints held for a down replica, by target',
    labelNames: ['target'],
    collect() {
      this.reset();
      for (const t of node.hints.pendingTargets()) this.set({ target: t }, node.hints.targetStats(t).bytes);
    },
  });
  metrics.gauge({
    name: 'ringkv_hints_oldest_age_seconds',
    help: 'age of the oldest hint held for a target',
    labelNames: ['target'],
    collect() {
      this.reset();
      const now = Date.now();
      for (const t of node.hints.pendingTargets()) {
        const oldest = node.hints.targetStats(t).oldestMs;
        if (oldest !== undefined) this.set({ target: t }, (now - oldest) / 1000);
      }
    },
  });
  metrics.gauge({
    name: 'ringkv_hints_replay_rate_per_second',
    help: 'hints handed back per second in the latest replay',
    collect() {
      this.set(node.hintReplayer?.stats.lastReplayPerSec ?? 0);
    },
  });
  const reaper = node.reaper.stats;
  catchUp('ringkv_tombstones_reaped_total', 'tombstones reaped (every replica held them, past the grace)', () => reaper.reaped);
  catchUp('ringkv_tombstones_candidates_total', 'tombstones past the grace found by reaping passes', () => reaper.candidates);
  catchUp('ringkv_tombstones_blocked_total', 'reaping passes or partitions held back (a replica down, the ring changing, versions disagreeing)', () => reaper.blockedNotAllLive + reaper.blockedRingChanging + reaper.disagreements);
  const transfers = node.transfers.stats;
  catchUp('ringkv_transfers_partitions_completed_total', 'inbound partition transfers completed for ring changes', () => transfers.transfersCompleted);
  catchUp('ringkv_transfers_objects_pulled_total', 'objects pulled by partition transfers', () => transfers.objectsPulled);
  catchUp('ringkv_transfers_partitions_dropped_total', 'partitions handed to their new replicas and dropped here', () => transfers.partitionsDropped);
  metrics.gauge({
    name: 'ringkv_transfers_inbound',
    help: 'inbound partition transfers of the ring change in progress, by phase',
    labelNames: ['phase'],
    collect() {
      this.reset();
      const byPhase: Record<string, number> = {};
      for (const t of node.transfers.status()) byPhase[t.stalled ? 'stalled' : t.phase] = (byPhase[t.stalled ? 'stalled' : t.phase] ?? 0) + 1;
      for (const [phase, count] of Object.entries(byPhase)) this.set({ phase }, count);
    },
  });
  const aae = node.antiEntropy.stats;
  catchUp('ringkv_aae_exchanges_total', 'anti-entropy exchanges started by this node', () => aae.exchanges);
  catchUp('ringkv_aae_exchanges_failed_total', 'anti-entropy exchanges that failed (peer unreachable, timeout)', () => aae.exchangesFailed);
  catchUp('ringkv_aae_exchanges_in_sync_total', 'anti-entropy exchanges that found the replicas identical', () => aae.exchangesInSync);
  catchUp('ringkv_aae_segments_differing_total', 'tree segments found different by exchanges', () => aae.segmentsDiffering);
  catchUp('ringkv_aae_keys_pushed_total', 'objects sent to a peer by anti-entropy', () => aae.keysPushed);
  catchUp('ringkv_aae_keys_pulled_total', 'objects taken from a peer by anti-entropy', () => aae.keysPulled);
  catchUp('ringkv_aae_sent_bytes_total', 'bytes sent by anti-entropy exchanges (hashes, clocks, objects)', () => aae.bytesSent);
  catchUp('ringkv_aae_received_bytes_total', 'bytes received by anti-entropy exchanges', () => aae.bytesReceived);
  metrics.gauge({
    name: 'ringkv_aae_full_repair_partitions',
    help: 'progress of the latest full anti-entropy repair: partitions done, and in total',
    labelNames: ['state'],
    collect() {
      this.set({ state: 'done' }, aae.fullRepairDone);
      this.set({ state: 'total' }, aae.fullRepairTotal);
    },
  });
  metrics.gauge({
    name: 'ringkv_node_incarnation',
    help: 'this node\'s incarnation: starts counted on this data directory',
    collect() {
      this.set(node.identity.incarnation);
    },
  });
  metrics.runningTotal(
    'ringkv_admission_refused_requests_total',
    'client requests refused with OVERLOADED before they started, by reason (queue_full, would_time_out, timed_out_waiting, loop_lag)',
    () => Object.entries(admission.stats.refused),
    'reason',
  );
  metrics.gauge({
    name: 'ringkv_admission_inflight_requests',
    help: 'client requests running in the cluster layer',
    collect() {
      this.set(admission.stats.inFlight);
    },
  });
  metrics.gauge({
    name: 'ringkv_admission_queued_requests',
    help: 'client requests waiting for a slot',
    collect() {
      this.set(admission.stats.queued);
    },
  });
  metrics.gauge({
    name: 'ringkv_storage_engine_stat',
    help: 'storage engine statistics (keys, bytes on disk, tables, ...), by stat name',
    labelNames: ['stat'],
    collect() {
      for (const [stat, value] of Object.entries(engine.stats())) {
        if (typeof value === 'number') this.set({ stat }, value);
      }
    },
  });
}

export async function startNode(config: RingkvConfig, opts: StartNodeOptions = {}): Promise<RunningNode> {
  const startedAtMs = Date.now();
  const logger = opts.logger ?? createLogger(config);
  const members = membersFromConfig(config);
  const addressOf = new Map(members.map((m) => [m.id, splitHostPort(m.address)]));
  const metrics = new NodeMetrics({ nodeId: config.nodeId, processMetrics: true });
  const ops = new NodeOps({ metrics, n: config.n, startedAtMs, ...(config.password !== undefined ? { password: config.password } : {}) });

  // Everything opened so far, closed in reverse if a later step fails.
  const opened: Closeable[] = [];
  const closeAll = async (): Promise<void> => {
    for (const c of opened.reverse()) {
      try {
        await c.close();
      } catch (e) {
        logger.warn({ err: (e as Error).message }, 'error while closing');
      }
    }
  };

  try {
    const engine = await openEngine(config, logger);
    let engineClosed = false;
    opened.push({ close: async () => ((await engine.close()), (engineClosed = true)) });
    // The version identity lives beside the data (a replaced disk loses it, as it must); a memory
    // engine keeps nothing, so its node takes a fresh identity at every start.
    const identity = await NodeIdentity.open({
      self: config.nodeId,
      ...(config.engine === 'lsm' ? { store: new FileStateStore(new NodeFS(), config.dataDir!) } : {}),
      random: createNodeRandom(),
      engine,
      logger: logger.child({ subsystem: 'identity' }),
    });
    // closed last: a clean stop is recorded only once the engine has closed cleanly
    opened.unshift({ close: () => (engineClosed ? identity.closeClean() : undefined) });

    const { secret: clusterSecret, configured: secretConfigured } = clusterSecretOf(config);
    if (!secretConfigured) logger.info({}, 'no cluster secret: this node accepts no internode connections (give --cluster-secret-file to let peers join it)');
    // --join: ask each address who it is (its node id), so gossip can reach it by id
    const joinSeeds: string[] = [];
    for (const address of config.join ? config.join.split(',') : []) {
      const { host, port } = splitHostPort(address);
      try {
        const id = await identifyPeer(host, port, config.nodeId, clusterSecret);
        addressOf.set(id, { host, port });
        joinSeeds.push(id);
      } catch (e) {
        logger.warn({ address, err: (e as Error).message }, 'join: a member address did not answer');
      }
    }
    if (config.join && joinSeeds.length === 0) throw new Error(`cannot join: none of ${config.join} answered`);
    // peers are found through the configured list, then through the gossiped member table
    const nodeRef: { current?: ClusterNode } = {};
    const transport = new TcpTransport({
      self: config.nodeId,
      clusterSecret,
      listenHost: config.host,
      listenPort: config.internalPort,
      resolvePeer: (id) => {
        const known = addressOf.get(id);
        if (known) return known;
        const gossiped = nodeRef.current?.cluster?.addressOf(id);
        return gossiped ? splitHostPort(gossiped) : undefined;
      },
      logger,
    });
    await transport.listen();
    opened.push(transport);

    const node = new ClusterNode({
      self: config.nodeId,
      members,
      config: toClusterConfig(config),
      clock: createNodeClock(),
      random: createNodeRandom(),
      transport,
      engine,
      logger,
      identity,
      membership: {
        ...(config.engine === 'lsm' ? { store: new FileStateStore(new NodeFS(), config.dataDir!, 'MEMBERSHIP') } : {}),
        clusterName: config.clusterName,
        config: { gossipIntervalMs: config.gossipIntervalMs, phiThreshold: config.phiThreshold },
        // a joining node takes the cluster's ring; a node of a static list builds the first one
        ...(joinSeeds.length > 0 ? { bootstrapRing: false, seeds: [...joinSeeds, ...members.filter((m) => m.id !== config.nodeId).map((m) => m.id)] } : {}),
      },
      drainGraceMs: config.drainGraceMs,
      observer: ops.observer,
    });
    nodeRef.current = node;
    await node.start();
    // HTTP and RESP share one admission limit: past it, requests that cannot start in time are refused
    const lag = startEventLoopLagProbe();
    opened.push({ close: async () => lag.stop() });
    const admission = new AdmissionControl({
      maxInFlight: config.maxInflightRequests,
      maxQueued: config.maxQueuedRequests,
      defaultTimeoutMs: config.requestTimeoutMs,
      lagMs: lag.lagMs,
    });
    const kv = admittedKv(node, admission);
    registerNodeMetrics(metrics, node, engine, admission);
    opened.push({ close: () => node.stop() });
    let resp: RespServer | undefined;
    ops.attach({
      node,
      antiEntropy: node.antiEntropy,
      transfers: () => node.transfers.status(),
      hints: { store: node.hints, replayedPerSec: () => node.hintReplayer?.stats.lastReplayPerSec ?? 0 },
      replicasOf: (p) => node.ringView.current.ring.preferenceList(p, config.n).primaries,
      engine,
      engineKind: config.engine,
      transport: () => transport.stats(),
      ...(config.respPort !== 0 ? { resp: () => resp && { stats: resp.statistics, connections: resp.connectionCount } } : {}),
    });
    opened.push({ close: () => ops.close() });

    const http: FastifyInstance = createHttpApi({
      kv,
      nodeId: config.nodeId,
      cluster: node,
      metrics,
      n: config.n,
      maxKeyBytes: config.maxKeyBytes,
      maxValueBytes: config.maxValueBytes,
      ...(config.password !== undefined ? { password: config.password } : {}),
      ops,
      logger,
    });
    await http.listen({ host: config.host, port: config.httpPort });
    opened.push(http);
    const httpAddress = http.server.address();
    const httpPort = typeof httpAddress === 'object' && httpAddress !== null ? httpAddress.port : config.httpPort;

    if (config.respPort !== 0) {
      resp = new RespServer({
        kv,
        host: config.host,
        port: config.respPort,
        ...(config.password !== undefined ? { password: config.password } : {}),
        maxValueBytes: config.maxValueBytes,
        maxKeyBytes: config.maxKeyBytes,
        nodeId: config.nodeId,
        logger: logger.child({ subsystem: 'resp' }),
        info: () => infoSnapshot(config, ops),
      });
      await resp.listen();
      opened.push(resp);
    }

    const httpUrl = `http://${config.host}:${httpPort}`;
    logger.info(
      { http: httpUrl, internalPort: transport.port, respPort: resp?.port ?? 0, engine: config.engine, members: members.map((m) => m.id), n: config.n, r: config.r, w: config.w },
      'node ready',
    );

    let stopping: Promise<void> | undefined;
    return {
      config,
      nodeId: config.nodeId,
      httpUrl,
      httpPort,
      internalPort: transport.port,
      respPort: resp?.port ?? 0,
      node,
      metrics,
      ops,
      logger,
      stop: () => {
        stopping ??= (async () => {
          logger.info({}, 'stopping node');
          await closeAll();
          logger.info({}, 'node stopped');
        })();
        return stopping;
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/**
 * Runs a started node until SIGINT or SIGTERM, then stops it gracefully and exits 0. A second signal
 * while stopping exits at once (code 1); a stop that takes longer than stopTimeoutMs exits 1 too.
 */
export function stopOnSignals(running: RunningNode, stopTimeoutMs = 10_000): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      running.logger.warn({ signal }, 'second signal: exiting without a clean stop');
      process.exit(1);
    }
    signalled = true;
    running.logger.info({ signal }, 'signal received: stopping');
    const timer = setTimeout(() => {
      running.logger.error({ stopTimeoutMs }, 'stop took too long: exiting');
      process.exit(1);
    }, stopTimeoutMs);
    timer.unref();
    running.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        running.logger.error({ err: (e as Error).message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
