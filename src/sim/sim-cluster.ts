import { DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from '../cluster/cluster-config.js';
import { NodeIdentity } from '../cluster/node-identity.js';
import type { Member, NodeId } from '../core/member.js';
import type { Logger, Transport } from '../cluster/runtime.js';
import type { Engine } from '../storage/engine.js';
import type { DataLossEvent } from './checkers.js';
import { SimDisk, lossWindowMs, MEMORY_STORAGE, type DiskSession, type StorageOptions } from './sim-disk.js';
import { SimNetwork, type NetworkFaults } from './sim-network.js';
import type { SimNode, SimNodeFactory } from './sim-node.js';
import { Simulation } from './simulation.js';
import { NO_SKEW, ScopedClock, type ClockSkew } from './virtual-clock.js';

export interface SimClusterOptions {
  seed: number;
  /** node ids are n1…nK */
  nodeCount: number;
  /** builds each node incarnation: clusterNodeFactory (the real ClusterNode) or referenceNodeFactory */
  createNode: SimNodeFactory;
  config?: Partial<ClusterConfig>;
  faults?: Partial<NetworkFaults>;
  /** what each node stores on @default memory (a durable MemoryEngine) */
  storage?: StorageOptions;
  /** wraps a node's engine (planted bugs, fault injection); called for every incarnation's engine */
  wrapEngine?: (id: NodeId, engine: Engine) => Engine;
  /** wraps each transport incarnation (planted bugs) */
  wrapTransport?: (id: NodeId, transport: Transport) => Transport;
  /** per-node logger; default silent */
  logger?: (id: NodeId) => Logger;
  /** receives the verbose trace */
  traceSink?: (line: string) => void;
  maxSteps?: number;
}

/** Rejection of a call whose node crashed (or stopped) before answering, or was down when called. */
export class NodeCrashedError extends Error {
  constructor(
    readonly nodeId: NodeId,
    what = 'crashed before answering',
  ) {
    super(`node ${nodeId} ${what}`);
    this.name = 'NodeCrashedError';
  }
}

/**
 * A moment some node's stored state went backwards: acknowledged writes applied there after
 * `lostSinceMs` may be gone (virtual ms since the run started; -Infinity = everything).
 */
export interface ClusterDataLoss extends DataLossEvent {
  kind: 'crash' | 'replaced-disk';
}

/** fault kinds the cluster injected, for run summaries */
export type ClusterFaultKind = 'crash' | 'lossy-crash' | 'graceful-restart' | 'replaced-disk' | 'partition' | 'clock-skew';

interface Incarnation {
  node: SimNode;
  clock: ScopedClock;
  session: DiskSession;
  identity: NodeIdentity;
  /** settles the calls in flight at this incarnation when it crashes */
  crashWaiters: Set<(e: NodeCrashedError) => void>;
  number: number;
}

/**
 * K nodes on one simulated network under one virtual clock. Each node has a SimDisk (memory engine,
 * or the LSM engine on a SimFS) and a durable identity record on it, opened as a NodeIdentity at
 * every boot and handed to the node. crash() drops the node object and silences it mid-flight (the
 * disk loses what was not fsynced); restart() boots a fresh node on what survived; replaceDisk()
 * swaps in an empty disk; each node's wall clock can be skewed (offset and drift) while timers run on
 * virtual time. Booting is async (the LSM engine opens its files): create() returns a running cluster.
 */
export class SimCluster {
  readonly sim: Simulation;
  readonly network: SimNetwork;
  readonly config: ClusterConfig;
  readonly members: Member[];
  readonly nodeIds: NodeId[];
  readonly storage: StorageOptions;
  /** every moment a node's stored state went backwards, in order */
  readonly dataLoss: ClusterDataLoss[] = [];
  /** faults injected through this object, by kind (network faults are in network.stats) */
  readonly faultCounts: Record<ClusterFaultKind, number> = { crash: 0, 'lossy-crash': 0, 'graceful-restart': 0, 'replaced-disk': 0, partition: 0, 'clock-skew': 0 };
  /** boots that threw (a node that cannot start on its own disk is a finding) */
  readonly bootFailures: Array<{ node: NodeId; atMs: number; error: string }> = [];
  private readonly disks = new Map<NodeId, SimDisk>();
  private readonly skews = new Map<NodeId, ClockSkew>();
  private readonly live = new Map<NodeId, Incarnation>();
  private readonly booting = new Set<NodeId>();
  private readonly incarnations = new Map<NodeId, number>();

  constructor(private readonly options: SimClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1 || options.nodeCount > 1000) {
      throw new RangeError(`nodeCount must be from 1 to 1000, got ${options.nodeCount}`);
    }
    this.sim = new Simulation({ seed: options.seed, traceSink: options.traceSink, maxSteps: options.maxSteps });
    this.network = new SimNetwork(this.sim, options.faults);
    this.config = { ...DEFAULT_CLUSTER_CONFIG, ...options.config };
    this.storage = options.storage ?? MEMORY_STORAGE;
    this.nodeIds = Array.from({ length: options.nodeCount }, (_, i) => `n${i + 1}`);
    this.members = this.nodeIds.map((id, i) => ({ id, address: `sim:${9001 + i}`, weight: 1 }));
    for (const id of this.nodeIds) this.disks.set(id, new SimDisk(this.storage));
  }

  /** a cluster with every node booted */
  static async create(options: SimClusterOptions): Promise<SimCluster> {
    const cluster = new SimCluster(options);
    await cluster.start();
    return cluster;
  }

  /** boots every node that is not up */
  async start(): Promise<void> {
    for (const id of this.nodeIds) if (!this.live.has(id) && !this.booting.has(id)) await this.boot(id);
  }

  isUp(id: NodeId): boolean {
    return this.live.has(id);
  }

  upNodeIds(): NodeId[] {
    return this.nodeIds.filter((id) => this.live.has(id));
  }

  /** the live node object (throws when it is down) */
  node(id: NodeId): SimNode {
    return this.incarnation(id).node;
  }

  /** the engine the live incarnation of id stores on (unwrapped) */
  engine(id: NodeId): Engine {
    return this.incarnation(id).session.engine;
  }

  /** the identity the live incarnation of id was given */
  identity(id: NodeId): NodeIdentity {
    return this.incarnation(id).identity;
  }

  /** id's wall clock as its node reads it now */
  nodeNowMs(id: NodeId): number {
    return this.incarnation(id).clock.nowMs();
  }

  disk(id: NodeId): SimDisk {
    const d = this.disks.get(id);
    if (!d) throw new Error(`no node ${id}`);
    return d;
  }

  private incarnation(id: NodeId): Incarnation {
    const inc = this.live.get(id);
    if (!inc) throw new Error(`node ${id} is down`);
    return inc;
  }

  /**
   * Runs fn against node id and settles with its result — or rejects with NodeCrashedError when the
   * node is down now or crashes before fn settles (a client's connection to it breaks).
   */
  call<T>(id: NodeId, fn: (node: SimNode) => Promise<T>): Promise<T> {
    const inc = this.live.get(id);
    if (!inc) return Promise.reject(new NodeCrashedError(id, 'was down when called'));
    return new Promise<T>((resolve, reject) => {
      const onCrash = (e: NodeCrashedError): void => reject(e);
      inc.crashWaiters.add(onCrash);
      fn(inc.node).then(
        (v) => {
          if (!inc.crashWaiters.delete(onCrash)) return;
          resolve(v);
        },
        (e: unknown) => {
          if (!inc.crashWaiters.delete(onCrash)) return;
          reject(e);
        },
      );
    });
  }

  /**
   * Abrupt stop: no shutdown code runs, timers die, messages to and from it stop, and the disk
   * crashes — with the LSM engine, bytes not yet fsynced are lost (acknowledged writes too, in
   * periodic mode: recorded in dataLoss).
   */
  crash(id: NodeId): void {
    const inc = this.live.get(id);
    if (!inc) throw new Error(`node ${id} is ${this.booting.has(id) ? 'booting' : 'already down'}`);
    this.live.delete(id);
    inc.clock.kill();
    inc.session.halt();
    this.network.crash(id);
    this.disk(id).crash(this.sim.random.fork(`disk-crash:${id}:${inc.number}`));
    const window = lossWindowMs(this.storage);
    this.faultCounts[window > 0 ? 'lossy-crash' : 'crash']++;
    if (window > 0) this.dataLoss.push({ node: id, atMs: this.sim.elapsedMs, lostSinceMs: this.sim.elapsedMs - window, kind: 'crash' });
    this.settleCalls(inc, new NodeCrashedError(id));
    this.sim.trace(`crash ${id} incarnation ${inc.number}`);
  }

  /** a fresh node object on what the crashed node's disk kept; resolves once it is up */
  async restart(id: NodeId): Promise<void> {
    if (this.live.has(id) || this.booting.has(id)) throw new Error(`node ${id} is already up`);
    await this.boot(id);
  }

  /**
   * Graceful stop and start: the node stops, its engine closes (everything acknowledged is durable)
   * and its identity records the clean stop, then it boots again. Calls in flight are cut off.
   */
  async gracefulRestart(id: NodeId): Promise<void> {
    await this.stop(id);
    this.faultCounts['graceful-restart']++;
    await this.boot(id);
  }

  /** The node is down and its disk is swapped for an empty one: same id, no data, no identity record. */
  replaceDisk(id: NodeId): void {
    if (this.live.has(id) || this.booting.has(id)) throw new Error(`node ${id} must be down to replace its disk`);
    this.disk(id).replace();
    this.faultCounts['replaced-disk']++;
    this.dataLoss.push({ node: id, atMs: this.sim.elapsedMs, lostSinceMs: -Infinity, kind: 'replaced-disk' });
    this.sim.trace(`replace disk of ${id}`);
  }

  /**
   * Sets id's wall clock to read virtual time + offsetMs, drifting by driftPpm from now on (a step
   * when the node is running, as an NTP correction would make). Survives restarts: it is the machine's.
   */
  setClockSkew(id: NodeId, offsetMs: number, driftPpm = 0): void {
    this.disk(id); // checks the id
    this.skews.set(id, { offsetMs, driftPpm, sinceMs: this.sim.clock.nowMs() });
    this.faultCounts['clock-skew']++;
    this.sim.trace(`clock of ${id}: offset ${offsetMs} ms, drift ${driftPpm} ppm`);
  }

  /** cuts the given nodes off from the rest (see SimNetwork.partition), counted as a fault */
  partition(group: readonly NodeId[]): void {
    this.network.partition(group);
    this.faultCounts.partition++;
  }

  /** graceful stop of every live node (end of a run) */
  async stopAll(): Promise<void> {
    for (const id of [...this.live.keys()]) await this.stop(id);
  }

  private async stop(id: NodeId): Promise<void> {
    const inc = this.incarnation(id);
    this.live.delete(id);
    this.settleCalls(inc, new NodeCrashedError(id, 'stopped before answering'));
    await inc.node.stop();
    await inc.session.close();
    await inc.identity.closeClean();
    inc.session.halt();
    inc.clock.kill();
    this.network.crash(id);
    this.sim.trace(`stop ${id} incarnation ${inc.number}`);
  }

  private settleCalls(inc: Incarnation, err: NodeCrashedError): void {
    for (const w of inc.crashWaiters) w(err);
    inc.crashWaiters.clear();
  }

  private async boot(id: NodeId): Promise<void> {
    const number = (this.incarnations.get(id) ?? 0) + 1;
    this.incarnations.set(id, number);
    this.booting.add(id);
    const clock = new ScopedClock(this.sim.clock, () => this.skews.get(id) ?? NO_SKEW);
    const logger = this.options.logger?.(id);
    let session: DiskSession | undefined;
    try {
      session = await this.disk(id).open(clock, logger);
      const random = this.sim.random.fork(`node:${id}:${number}`);
      const identity = await NodeIdentity.open({ self: id, store: session.stateStore, random: random.fork('identity'), engine: session.engine, logger });
      const raw = this.network.attach(id, clock);
      const transport = this.options.wrapTransport ? this.options.wrapTransport(id, raw) : raw;
      const engine = this.options.wrapEngine ? this.options.wrapEngine(id, session.engine) : session.engine;
      const node = this.options.createNode({
        self: id,
        members: this.members.map((m) => ({ ...m })),
        config: { ...this.config },
        clock,
        random,
        transport,
        engine,
        logger,
        identity,
      });
      await node.start();
      this.live.set(id, { node, clock, session, identity, crashWaiters: new Set(), number });
      this.sim.trace(`boot ${id} incarnation ${number}: ${identity.openReason}`);
    } catch (e) {
      clock.kill();
      session?.halt();
      this.network.crash(id);
      const error = e instanceof Error ? e.message : String(e);
      this.bootFailures.push({ node: id, atMs: this.sim.elapsedMs, error });
      this.sim.trace(`boot ${id} incarnation ${number} failed: ${error}`);
    } finally {
      this.booting.delete(id);
    }
  }
}
