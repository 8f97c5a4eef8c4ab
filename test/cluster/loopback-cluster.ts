import { ClusterNode } from '../../src/cluster/node.js';
import { DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from '../../src/cluster/cluster-config.js';
import type { NodeIdentity } from '../../src/cluster/node-identity.js';
import type { Clock, Random } from '../../src/cluster/runtime.js';
import { MemoryEngine } from '../../src/storage/memory-engine.js';
import { LoopbackNetwork } from './loopback-transport.js';

/** real time, shifted: `offsetMs` moves one node's clock (skew) while time still passes */
export class TestClock implements Clock {
  private readonly origin = Date.now();
  constructor(public offsetMs = 0) {}
  get now(): number {
    return 1_700_000_000_000 + (Date.now() - this.origin) + this.offsetMs;
  }
  nowMs(): number {
    return this.now;
  }
  monotonicMs(): number {
    return performance.now();
  }
  setTimer(ms: number, fn: () => void) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  }
}

let seedCounter = 1;
/** a small seeded generator, a different stream per call */
export function testRandom(): Random {
  let s = (seedCounter++ * 7919) % 2147483647 || 1;
  const step = () => (s = (s * 48271) % 2147483647);
  return { next: () => step() / 2147483647, int: (max: number) => step() % max };
}

export interface LoopbackCluster {
  net: LoopbackNetwork;
  nodes: ClusterNode[];
  engines: MemoryEngine[];
  clocks: TestClock[];
  members: Array<{ id: string; address: string; weight: number }>;
  config: ClusterConfig;
  /** a new ClusterNode for n(i+1) on its engine (optionally with an identity opened by the test) */
  restart(i: number, opts?: { identity?: NodeIdentity }): ClusterNode;
  /** n(i+1) comes back with an empty disk (and a fresh identity) */
  wipe(i: number): ClusterNode;
}

/**
 * count ClusterNodes (n1…) on memory engines over an in-process network, for cluster unit tests.
 * Anti-entropy's schedule is off (its timers would outlive the test); tests drive it directly. With
 * liveness, nodes see the network's down set as failure detection would (sloppy quorum, hints) — and
 * the test must stop the nodes (the hint replayer runs a timer).
 */
export function loopbackCluster(count: number, overrides: Partial<ClusterConfig> = {}, opts: { liveness?: boolean; drainGraceMs?: number } = {}): LoopbackCluster {
  const net = new LoopbackNetwork();
  const members = Array.from({ length: count }, (_, i) => ({ id: `n${i + 1}`, address: `n${i + 1}`, weight: 1 }));
  const config = { ...DEFAULT_CLUSTER_CONFIG, requestTimeoutMs: 400, aaeEnabled: false, ...overrides };
  const engines = members.map(() => new MemoryEngine());
  const clocks = members.map(() => new TestClock());
  const build = (i: number, identity?: NodeIdentity): ClusterNode => {
    const node = new ClusterNode({
      self: members[i].id,
      members,
      config,
      clock: clocks[i],
      random: testRandom(),
      transport: net.transport(members[i].id),
      engine: engines[i],
      ...(identity ? { identity } : {}),
      // a node the test marks down is believed down by every other (what gossip would tell them)
      ...(opts.liveness ? { liveness: (id: string) => !net.down.has(id) } : {}),
      ...(opts.drainGraceMs !== undefined ? { drainGraceMs: opts.drainGraceMs } : {}),
    });
    node.start();
    return node;
  };
  const nodes = members.map((_, i) => build(i));
  return {
    net,
    nodes,
    engines,
    clocks,
    members,
    config,
    restart(i, opts = {}) {
      nodes[i] = build(i, opts.identity);
      return nodes[i];
    },
    wipe(i) {
      engines[i] = new MemoryEngine();
      nodes[i] = build(i);
      return nodes[i];
    },
  };
}
