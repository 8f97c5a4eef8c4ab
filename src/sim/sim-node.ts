import type { KvService } from '../cluster/kv-service.js';
import type { ClusterNodeDeps } from '../cluster/node.js';

/** What the harness hands a node: exactly what ClusterNode takes, so both run under one harness. */
export type SimNodeDeps = ClusterNodeDeps;

/** A node as the harness drives it: ClusterNode, or the simulator's own reference node. */
export interface SimNode extends KvService {
  /** starts serving; may be async (ClusterNode opens its hint store first) */
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

export type SimNodeFactory = (deps: SimNodeDeps) => SimNode;
