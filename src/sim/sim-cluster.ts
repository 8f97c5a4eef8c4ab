import { DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from '../cluster/cluster-config.js';
import type { Member, NodeId } from '../core/member.js';
import type { Logger, Transport } from '../cluster/runtime.js';
import type { Engine } from '../storage/engine.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { SimNetwork, type NetworkFaults } from './sim-network.js';
import type { SimNode, SimNodeFactory } from './sim-node.js';
import { Simulation } from './simulation.js';
import { ScopedClock } from './virtual-clock.js';

export interface SimClusterOptions {
  seed: number;
  /** node ids are n1…nK */
  nodeCount: number;
  /** builds each node incarnation: clusterNodeFactory (the real ClusterNode) or referenceNodeFactory */
  createNode: SimNodeFactory;
  config?: Partial<ClusterConfig>;
  faults?: Partial<NetworkFaults>;
  /** wraps a node's engine (planted bugs, fault injection); called once per node, the wrapper survives restarts */
  wrapEngine?: (id: NodeId, engine: Engine) => Engine;
  /** wraps each transport incarnation (planted bugs) */
  wrapTransport?: (id: NodeId, transport: Transport) => Transport;
  /** per-node logger; default silent */
  logger?: (id: NodeId) => Logger;
  /** receives the verbose trace */
  traceSink?: (line: string) => void;
  maxSteps?: number;
}

/** Rejection of a call whose node crashed before answering (or was down when called). */
export class NodeCrashedError extends Error {
  constructor(readonly nodeId: NodeId) {
    super(`node ${nodeId} crashed before answering`);
    this.name = 'NodeCrashedError';
  }
}

interface Incarnation {
  node: SimNode;
  clock: ScopedClock;
  /** settles the calls in flight at this incarnation when it crashes */
  crashWaiters: Set<(e: NodeCrashedError) => void>;
  number: number;
}

/**
 * K nodes on one simulated network under one virtual clock. Each node's engine is a MemoryEngine that
 * outlives crashes (a durable disk); crash() drops the node object and silences it mid-flight, and
 * restart() builds a fresh node on the same engine.
 */
export class SimCluster {
  readonly sim: Simulation;
  readonly network: SimNetwork;
  readonly config: ClusterConfig;
  readonly members: Member[];
  readonly nodeIds: NodeId[];
  readonly engines = new Map<NodeId, Engine>();
  private readonly live = new Map<NodeId, Incarnation>();
  private readonly incarnations = new Map<NodeId, number>();

  constructor(private readonly options: SimClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1 || options.nodeCount > 1000) {
      throw new RangeError(`nodeCount must be from 1 to 1000, got ${options.nodeCount}`);
    }
    this.sim = new Simulation({ seed: options.seed, traceSink: options.traceSink, maxSteps: options.maxSteps });
    this.network = new SimNetwork(this.sim, options.faults);
    this.config = { ...DEFAULT_CLUSTER_CONFIG, ...options.config };
    this.nodeIds = Array.from({ length: options.nodeCount }, (_, i) => `n${i + 1}`);
    this.members = this.nodeIds.map((id, i) => ({ id, address: `sim:${9001 + i}`, weight: 1 }));
    for (const id of this.nodeIds) {
      const engine = new MemoryEngine();
      this.engines.set(id, options.wrapEngine ? options.wrapEngine(id, engine) : engine);
      this.boot(id);
    }
  }

  isUp(id: NodeId): boolean {
    return this.live.has(id);
  }

  upNodeIds(): NodeId[] {
    return this.nodeIds.filter((id) => this.live.has(id));
  }

  /** the live node object (throws when it is down) */
  node(id: NodeId): SimNode {
    const inc = this.live.get(id);
    if (!inc) throw new Error(`node ${id} is down`);
    return inc.node;
  }

  /**
   * Runs fn against node id and settles with its result — or rejects with NodeCrashedError when the
   * node is down now or crashes before fn settles (a client's connection to it breaks).
   */
  call<T>(id: NodeId, fn: (node: SimNode) => Promise<T>): Promise<T> {
    const inc = this.live.get(id);
    if (!inc) return Promise.reject(new NodeCrashedError(id));
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

  /** abrupt stop: no shutdown code runs, timers die, messages to and from it stop; the engine keeps its data */
  crash(id: NodeId): void {
    const inc = this.live.get(id);
    if (!inc) throw new Error(`node ${id} is already down`);
    this.live.delete(id);
    inc.clock.kill();
    this.network.crash(id);
    const err = new NodeCrashedError(id);
    for (const w of inc.crashWaiters) w(err);
    inc.crashWaiters.clear();
  }

  /** a fresh node object on the crashed node's engine */
  restart(id: NodeId): void {
    if (this.live.has(id)) throw new Error(`node ${id} is already up`);
    this.boot(id);
  }

  /** graceful stop of every live node (end of a run) */
  async stopAll(): Promise<void> {
    for (const [id, inc] of [...this.live]) {
      this.live.delete(id);
      await inc.node.stop();
      inc.clock.kill();
    }
  }

  private boot(id: NodeId): void {
    const number = (this.incarnations.get(id) ?? 0) + 1;
    this.incarnations.set(id, number);
    const clock = new ScopedClock(this.sim.clock);
    const raw = this.network.attach(id, clock);
    const transport = this.options.wrapTransport ? this.options.wrapTransport(id, raw) : raw;
    const node = this.options.createNode({
      self: id,
      members: this.members.map((m) => ({ ...m })),
      config: { ...this.config },
      clock,
      random: this.sim.random.fork(`node:${id}:${number}`),
      transport,
      engine: this.engines.get(id)!,
      logger: this.options.logger?.(id),
    });
    this.live.set(id, { node, clock, crashWaiters: new Set(), number });
    node.start();
    this.sim.trace(`boot ${id} incarnation ${number}`);
  }
}
