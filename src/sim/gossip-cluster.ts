/**
 * N membership (gossip) instances on one simulated network and virtual clock, without ClusterNode:
 * for the membership simulation tests and benchmarks. Nodes can be started later (joins), crashed,
 * restarted on their stored membership record with a new incarnation, paused (SIGSTOP-like) and
 * stopped gracefully.
 */
import type { Member, NodeId } from '../core/member.js';
import { buildRing, type Ring } from '../core/ring.js';
import { MessageRouter } from '../cluster/message-router.js';
import type { GossipConfig } from '../cluster/membership/gossip-config.js';
import { Membership, type MembershipEvent } from '../cluster/membership/membership.js';
import type { MembershipStore } from '../cluster/membership/membership-store.js';
import type { Logger } from '../cluster/runtime.js';
import { PausableClock, PausableTransport, PauseGate } from './pause-gate.js';
import { SimNetwork, type NetworkFaults } from './sim-network.js';
import { Simulation } from './simulation.js';
import { ScopedClock } from './virtual-clock.js';

export interface GossipSimOptions {
  seed: number;
  /** partitions of the ring @default 64 */
  partitions?: number;
  config?: Partial<GossipConfig>;
  faults?: Partial<NetworkFaults>;
  /** trace message bodies (slow for large clusters) @default false */
  tracePayloads?: boolean;
  logger?: (id: NodeId) => Logger;
  maxSteps?: number;
}

export interface StartOptions {
  /** members known from configuration (a static peer list); they form the first ring */
  knownMembers?: readonly NodeId[];
  seeds?: readonly NodeId[];
  zone?: string;
  weight?: number;
}

/** A membership record that outlives crashes (the node's disk). */
export class MemoryMembershipStore implements MembershipStore {
  bytes: Uint8Array | undefined;
  writes = 0;

  async read(): Promise<Uint8Array | undefined> {
    return this.bytes;
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.bytes = bytes;
    this.writes++;
  }
}

interface RunningNode {
  membership: Membership;
  clock: ScopedClock;
  gate: PauseGate;
  router: MessageRouter;
}

export type GossipEventListener = (observer: NodeId, event: MembershipEvent, atMs: number) => void;

export function simAddress(id: NodeId): string {
  return `sim:${id}`;
}

export class GossipSimCluster {
  readonly sim: Simulation;
  readonly network: SimNetwork;
  readonly partitions: number;
  private readonly running = new Map<NodeId, RunningNode>();
  private readonly stores = new Map<NodeId, MemoryMembershipStore>();
  private readonly incarnations = new Map<NodeId, number>();
  private readonly startOptions = new Map<NodeId, StartOptions>();
  private readonly listeners = new Set<GossipEventListener>();
  /** first rings by static member list: every node of the list builds the same one, the simulation builds it once */
  private readonly firstRings = new WeakMap<readonly NodeId[], Ring>();

  constructor(private readonly options: GossipSimOptions) {
    this.sim = new Simulation({ seed: options.seed, maxSteps: options.maxSteps ?? 50_000_000 });
    this.network = new SimNetwork(this.sim, options.faults);
    this.network.tracePayloads = options.tracePayloads ?? false;
    this.partitions = options.partitions ?? 64;
  }

  /** Starts `ids` together, each knowing all of them (a static peer list): the common first ring. */
  async startAll(ids: readonly NodeId[], extra: Omit<StartOptions, 'knownMembers'> = {}): Promise<void> {
    for (const id of ids) await this.start(id, { ...extra, knownMembers: ids });
  }

  /** Starts (or restarts, on its stored record, with the next incarnation) node id. */
  async start(id: NodeId, start: StartOptions = {}): Promise<Membership> {
    if (this.running.has(id)) throw new Error(`node ${id} is already running`);
    this.startOptions.set(id, start);
    const incarnation = (this.incarnations.get(id) ?? 0) + 1;
    this.incarnations.set(id, incarnation);
    let store = this.stores.get(id);
    if (!store) {
      store = new MemoryMembershipStore();
      this.stores.set(id, store);
    }
    const gate = new PauseGate();
    const scoped = new ScopedClock(this.sim.clock);
    const clock = new PausableClock(scoped, gate);
    const transport = new PausableTransport(this.network.attach(id, clock), gate);
    const logger = this.options.logger?.(id);
    const router = new MessageRouter({ logger });
    router.attach(transport);
    const knownMembers: Member[] = (start.knownMembers ?? []).map((m) => ({ id: m, address: simAddress(m), weight: 1 }));
    const self = { id, address: simAddress(id), weight: start.weight ?? 1, ...(start.zone !== undefined ? { zone: start.zone } : {}) };
    const membership = await Membership.open({
      self,
      incarnation,
      firstRing:
        start.knownMembers !== undefined && start.knownMembers.includes(id) && start.weight === undefined && start.zone === undefined
          ? this.firstRing(start.knownMembers, knownMembers)
          : undefined,
      partitions: this.partitions,
      knownMembers,
      seeds: start.seeds,
      clock,
      random: this.sim.random.fork(`gossip:${id}:${incarnation}`),
      transport,
      router,
      store,
      logger,
      config: this.options.config,
    });
    membership.onEvent((e) => {
      // no data here: a receiver of a pending ring has nothing to pull, so its transfers are done at once
      if (e.kind === 'ring' && e.current.pending) membership.reportTransfersDone(e.current.epoch);
      for (const l of this.listeners) l(id, e, this.sim.elapsedMs);
    });
    this.running.set(id, { membership, clock: scoped, gate, router });
    membership.start();
    this.sim.trace(`gossip start ${id} incarnation ${incarnation}`);
    return membership;
  }

  /** the first ring of a static list that includes the node itself (the list's members are all weight 1, zone-less) */
  private firstRing(list: readonly NodeId[], members: Member[]): Ring {
    let ring = this.firstRings.get(list);
    if (ring === undefined) {
      ring = buildRing(members, this.partitions);
      this.firstRings.set(list, ring);
    }
    return ring;
  }

  /** Restarts a crashed or stopped node with the options it last started with. */
  restart(id: NodeId): Promise<Membership> {
    return this.start(id, this.startOptions.get(id) ?? {});
  }

  onEvent(listener: GossipEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  node(id: NodeId): Membership {
    const n = this.running.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    return n.membership;
  }

  router(id: NodeId): MessageRouter {
    const n = this.running.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    return n.router;
  }

  isRunning(id: NodeId): boolean {
    return this.running.has(id);
  }

  runningIds(): NodeId[] {
    return [...this.running.keys()];
  }

  store(id: NodeId): MemoryMembershipStore | undefined {
    return this.stores.get(id);
  }

  /** kill -9: no goodbye, timers and messages stop mid-flight; the store keeps what was written */
  crash(id: NodeId): void {
    const n = this.running.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    this.running.delete(id);
    n.clock.kill();
    this.network.crash(id);
    this.sim.trace(`gossip crash ${id}`);
  }

  /** SIGTERM: the node announces itself down (virtual time runs while it waits for peers), then goes away */
  async stop(id: NodeId): Promise<void> {
    const n = this.running.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    await this.drive(n.membership.stop({ announce: true }), 60_000);
    this.running.delete(id);
    n.clock.kill();
    this.network.crash(id);
    this.sim.trace(`gossip stop ${id}`);
  }

  /** SIGSTOP for ms, then SIGCONT */
  pause(id: NodeId, ms: number): void {
    const n = this.running.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    n.gate.pause();
    this.sim.trace(`gossip pause ${id} for ${ms}ms`);
    this.sim.clock.setTimer(ms, () => {
      n.gate.resume();
      this.sim.trace(`gossip resume ${id}`);
    });
  }

  isPaused(id: NodeId): boolean {
    return this.running.get(id)?.gate.paused ?? false;
  }

  /** Runs the simulation until p settles (at most maxMs of virtual time), then returns its outcome. */
  async drive<T>(p: Promise<T>, maxMs: number): Promise<T> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    p.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    await this.sim.runUntil(() => outcome !== undefined, maxMs);
    if (outcome === undefined) throw new Error(`did not settle within ${maxMs} ms of virtual time`);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** graceful stop of everything (end of a run) */
  async stopAll(): Promise<void> {
    for (const id of [...this.running.keys()]) {
      const n = this.running.get(id)!;
      n.gate.resume();
      await n.membership.stop({ announce: false });
      n.clock.kill();
      this.running.delete(id);
    }
  }
}
