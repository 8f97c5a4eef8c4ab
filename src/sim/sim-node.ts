import type { Member, NodeId } from '../core/member.js';
import type { ClusterConfig } from '../cluster/cluster-config.js';
import type { KvService } from '../cluster/kv-service.js';
import type { Clock, Logger, Random, Transport } from '../cluster/runtime.js';
import type { Engine } from '../storage/engine.js';

/** What the harness hands a node; the same shape as ClusterNodeDeps in src/cluster/node.ts. */
export interface SimNodeDeps {
  self: NodeId;
  members: Member[];
  config: ClusterConfig;
  clock: Clock;
  random: Random;
  transport: Transport;
  engine: Engine;
  logger?: Logger;
}

/** A node as the harness drives it: ClusterNode, or the simulator's own reference node. */
export interface SimNode extends KvService {
  start(): void;
  stop(): Promise<void>;
}

export type SimNodeFactory = (deps: SimNodeDeps) => SimNode;
