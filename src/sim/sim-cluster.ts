import { DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from '../cluster/cluster-config.js';
import type { GossipConfig } from '../cluster/membership/gossip-config.js';
import { NodeIdentity } from '../cluster/node-identity.js';
import { ClusterNode } from '../cluster/node.js';
import type { RingState } from '../cluster/ring-view.js';
import type { Member, NodeId } from '../core/member.js';
import type { Logger, Transport } from '../cluster/runtime.js';
import type { Engine } from '../storage/engine.js';
import type { DataLossEvent } from './checkers.js';
import { SimDisk, lossWindowMs, MEMORY_STORAGE, type DiskSession, type StorageOptions } from './sim-disk.js';
import { SimNetwork, type NetworkFaults } from './sim-network.js';
import type { SimNode, SimNodeDeps, SimNodeFactory } from './sim-node.js';
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
  /**
   * run the nodes with gossip membership (ClusterNode only): failure detection, ring epochs, joins,
   * leaves and removes, sloppy quorums with hinted handoff, tombstone reaping. Absent = the static
   * member list with every peer live (no sloppy quorum, no hints), as every family before them.
   */
  membership?: SimMembershipOptions;
}

/** How a SimCluster runs gossip membership; every node's record lives on its SimDisk beside the identity record. */
export interface SimMembershipOptions {
  /** the cluster name every node gossips under @default 'sim' */
  clusterName?: string;
  /** gossip and failure-detection settings @default the production ones (500 ms rounds) */
  gossip?: Partial<GossipConfig>;
  /**
   * how long a partition handed away keeps serving before it is handed off and dropped (production:
   * 60 s), scaled to short runs @default 2000
   */
  drainGraceMs?: number;
}

/** the drain grace a simulated cluster uses unless told otherwise: a run lasts seconds, not minutes */
export const SIM_DRAIN_GRACE_MS = 2000;

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
  /** removed: an operator took a dead node out for good, its disk with it */
  kind: 'crash' | 'replaced-disk' | 'removed';
}

/** fault kinds the cluster injected (and membership changes it made), for run summaries */
export type ClusterFaultKind = 'crash' | 'lossy-crash' | 'graceful-restart' | 'replaced-disk' | 'partition' | 'clock-skew' | 'join' | 'leave' | 'remove';

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
 *
 * With `membership`, the nodes run gossip membership: addNode() starts a node that joins the running
 * cluster (no ring of its own, the live nodes as seeds), leave() and remove() take nodes out, and
 * agreedRing() / replicasOf() give the placement every live member agrees on (the static member list
 * then only seeds the first ring).
 */
export class SimCluster {
  readonly sim: Simulation;
  readonly network: SimNetwork;
  readonly config: ClusterConfig;
  /** the configured members: the first ring's (joiners are not in it) */
  readonly members: Member[];
  /** every node ever started, joiners included, in order of creation */
  readonly nodeIds: NodeId[];
  readonly storage: StorageOptions;
  /** every moment a node's stored state went backwards, in order */
  readonly dataLoss: ClusterDataLoss[] = [];
  /** faults injected through this object, by kind (network faults are in network.stats) */
  readonly faultCounts: Record<ClusterFaultKind, number> = {
    crash: 0,
    'lossy-crash': 0,
    'graceful-restart': 0,
    'replaced-disk': 0,
    partition: 0,
    'clock-skew': 0,
    join: 0,
    leave: 0,
    remove: 0,
  };
  /** boots that threw (a node that cannot start on its own disk is a finding) */
  readonly bootFailures: Array<{ node: NodeId; atMs: number; error: string }> = [];
  /** every node object booted, all incarnations, in order (their counters outlive crashes) */
  readonly allNodes: Array<{ id: NodeId; node: SimNode }> = [];
  private readonly disks = new Map<NodeId, SimDisk>();
  private readonly skews = new Map<NodeId, ClockSkew>();
  private readonly live = new Map<NodeId, Incarnation>();
  private readonly booting = new Set<NodeId>();
  private readonly incarnations = new Map<NodeId, number>();
  /** joiners: the seeds they were started with (they start without a ring of their own) */
  private readonly joinSeeds = new Map<NodeId, NodeId[]>();
  /** nodes taken out of the cluster (left, or removed): never booted again */
  private readonly retiredIds = new Set<NodeId>();
  /** nodes asked to leave (retired once their leave completes) */
  private readonly leaving = new Set<NodeId>();
  /** every ring state any node installed, by epoch and owners (for placements over the whole run) */
  private readonly rings = new Map<string, RingState>();
  private readonly ringListeners = new Set<(state: RingState) => void>();

  constructor(private readonly options: SimClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1 || options.nodeCount > 1000) {
      throw new RangeError(`nodeCount must be from 1 to 1000, got ${options.nodeCount}`);
    }
    this.sim = new Simulation({ seed: options.seed, traceSink: options.traceSink, maxSteps: options.maxSteps });
    this.network = new SimNetwork(this.sim, options.faults);
    this.config = { ...DEFAULT_CLUSTER_CONFIG, ...options.config };
    this.storage = options.storage ?? MEMORY_STORAGE;
    this.nodeIds = Array.from({ length: options.nodeCount }, (_, i) => `n${i + 1}`);
    this.members = this.nodeIds.map((id, i) => memberOf(id, i));
    for (const id of this.nodeIds) this.disks.set(id, new SimDisk(this.storage));
  }

  /** whether the nodes run gossip membership */
  get membershipEnabled(): boolean {
    return this.options.membership !== undefined;
  }

  /** a cluster with every node booted */
  static async create(options: SimClusterOptions): Promise<SimCluster> {
    const cluster = new SimCluster(options);
    await cluster.start();
    return cluster;
  }

  /** boots every node that is not up (nodes that left or were removed stay out) */
  async start(): Promise<void> {
    for (const id of this.nodeIds) if (!this.live.has(id) && !this.booting.has(id) && !this.retiredIds.has(id)) await this.boot(id);
  }

  isUp(id: NodeId): boolean {
    return this.live.has(id);
  }

  upNodeIds(): NodeId[] {
    return this.nodeIds.filter((id) => this.live.has(id));
  }

  /** the nodes still in the cluster: every node but those that left or were removed */
  memberIds(): NodeId[] {
    return this.nodeIds.filter((id) => !this.retiredIds.has(id));
  }

  /** nodes that left or were removed */
  retired(): NodeId[] {
    return [...this.retiredIds];
  }

  isRetired(id: NodeId): boolean {
    return this.retiredIds.has(id);
  }

  /** nodes asked to leave (whether or not their leave is complete) */
  leavingIds(): NodeId[] {
    return [...this.leaving];
  }

  /** the members the cluster should end with: every node but those asked to leave or removed */
  expectedMembers(): NodeId[] {
    return this.nodeIds.filter((id) => !this.retiredIds.has(id) && !this.leaving.has(id));
  }

  /** the live node as a ClusterNode (throws for the reference node, or when it is down) */
  clusterNode(id: NodeId): ClusterNode {
    const node = this.node(id);
    if (!(node instanceof ClusterNode)) throw new Error(`node ${id} is not a ClusterNode`);
    return node;
  }

  // ---- membership changes (gossip membership only) ----------------------------------------------

  /**
   * Starts a new node (the next id) that joins the running cluster as `ringkv start --join` does: no
   * ring of its own, the live members as seeds; the claimant adds it. Resolves once it is booted
   * (not once it has joined: see agreedRing()).
   */
  async addNode(): Promise<NodeId> {
    this.requireMembership('addNode');
    const index = this.nodeIds.length;
    const id = `n${index + 1}`;
    const seeds = this.upNodeIds().filter((s) => !this.retiredIds.has(s));
    if (seeds.length === 0) throw new Error('addNode: no live node to join through');
    this.nodeIds.push(id);
    this.disks.set(id, new SimDisk(this.storage));
    this.joinSeeds.set(id, seeds);
    this.faultCounts.join++;
    this.sim.trace(`join ${id} through ${seeds.join(',')}`);
    await this.boot(id);
    return id;
  }

  /** `ringkv leave` on node id: the claimant hands its partitions away, then its row says left */
  leave(id: NodeId): void {
    this.requireMembership('leave');
    this.clusterNode(id).leave();
    this.leaving.add(id);
    this.faultCounts.leave++;
    this.sim.trace(`leave ${id}`);
  }

  /** true once node id's leave is complete (its own row says `left`): it is retired from then on */
  hasLeft(id: NodeId): boolean {
    return this.retiredIds.has(id);
  }

  /**
   * `ringkv remove <id>` through node `via`: the surviving replicas rebuild id's partitions on new
   * owners. id must be down: it is never started again, and its disk counts as lost (a data-loss
   * event: it held acknowledged writes nobody else may have).
   */
  remove(id: NodeId, via: NodeId): void {
    this.requireMembership('remove');
    if (this.live.has(id) || this.booting.has(id)) throw new Error(`remove: node ${id} must be down`);
    this.clusterNode(via).remove(id);
    this.retiredIds.add(id);
    this.faultCounts.remove++;
    this.dataLoss.push({ node: id, atMs: this.sim.elapsedMs, lostSinceMs: -Infinity, kind: 'removed' });
    this.sim.trace(`remove ${id} via ${via}`);
  }

  /**
   * The ring every live member has installed, when they agree (same epoch, owners and pending ring);
   * undefined while they do not (a change still spreading) or when no member is up.
   */
  agreedRing(): RingState | undefined {
    let agreed: RingState | undefined;
    let text: string | undefined;
    for (const id of this.memberIds()) {
      if (!this.live.has(id)) continue;
      const state = this.ringOf(id);
      const t = ringText(state);
      if (text === undefined) [agreed, text] = [state, t];
      else if (t !== text) return undefined;
    }
    return agreed;
  }

  /** the ring state node id has installed (its RingView) */
  ringOf(id: NodeId): RingState {
    return this.clusterNode(id).ringView.current;
  }

  /** every ring state some node installed during the run (current and pending rings), in first-seen order */
  ringHistory(): RingState[] {
    return [...this.rings.values()];
  }

  /** listener hears of each ring state the first time any node installs it (at that moment) */
  onNewRing(listener: (state: RingState) => void): () => void {
    this.ringListeners.add(listener);
    return () => this.ringListeners.delete(listener);
  }

  private noteRing(state: RingState): void {
    const t = ringText(state);
    if (this.rings.has(t)) return;
    this.rings.set(t, state);
    this.sim.trace(`ring epoch ${state.epoch}: ${t}`);
    for (const l of this.ringListeners) l(state);
  }

  private requireMembership(what: string): void {
    if (!this.options.membership) throw new Error(`${what} needs a cluster with gossip membership`);
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

  /**
   * Graceful stop of every live node (end of a run). Called from outside the event loop: virtual time
   * runs while each node stops (a node with gossip membership announces its stop and waits for peers).
   */
  async stopAll(): Promise<void> {
    for (const id of [...this.live.keys()]) {
      let settled = false;
      void this.stop(id).finally(() => (settled = true));
      await this.sim.runUntil(() => settled, STOP_LIMIT_MS);
      if (!settled) throw new Error(`node ${id} did not stop within ${STOP_LIMIT_MS} virtual ms`);
    }
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

  /** the member list a node is configured with: the first members (its --peers), or only itself for a joiner */
  private configuredMembers(id: NodeId): Member[] {
    if (this.joinSeeds.has(id)) return [memberOf(id, this.nodeIds.indexOf(id))];
    return this.members.map((m) => ({ ...m }));
  }

  private membershipDeps(id: NodeId, session: DiskSession): Pick<SimNodeDeps, 'membership' | 'drainGraceMs'> {
    const m = this.options.membership;
    if (!m) return {};
    const seeds = this.joinSeeds.get(id);
    return {
      membership: {
        store: session.membershipStore,
        clusterName: m.clusterName ?? 'sim',
        ...(m.gossip ? { config: { ...m.gossip } } : {}),
        // a joiner starts without a ring (as `ringkv start --join`): it takes the cluster's
        ...(seeds ? { bootstrapRing: false, seeds: [...seeds] } : {}),
      },
      drainGraceMs: m.drainGraceMs ?? SIM_DRAIN_GRACE_MS,
    };
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
        members: this.configuredMembers(id),
        config: { ...this.config },
        clock,
        random,
        transport,
        engine,
        logger,
        identity,
        ...this.membershipDeps(id, session),
      });
      await node.start();
      this.allNodes.push({ id, node });
      if (this.options.membership && node instanceof ClusterNode) {
        this.noteRing(node.ringView.current);
        node.ringView.onChange((next) => this.noteRing(next));
        node.cluster?.membership.onEvent((e) => {
          if (e.kind !== 'member' || e.id !== id || e.current.status !== 'left' || this.retiredIds.has(id)) return;
          this.retiredIds.add(id);
          this.sim.trace(`${id} has left`);
        });
      }
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

/** how long a graceful stop may take at the end of a run (an announcing node waits for its peers) */
const STOP_LIMIT_MS = 10_000;

function memberOf(id: NodeId, index: number): Member {
  return { id, address: `sim:${9001 + index}`, weight: 1 };
}

/** a ring state as text: epoch, owners, and the pending ring's owners (equal texts = the same placement) */
export function ringText(state: RingState): string {
  const owners = (r: RingState['ring']): string => r.owners().join(',');
  return `${state.epoch}|${owners(state.ring)}${state.pending ? `|pending ${owners(state.pending)}` : ''}`;
}
