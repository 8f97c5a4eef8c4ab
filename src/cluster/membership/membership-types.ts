/**
 * The types the membership shows the rest of the node: its options, its events, the rows of
 * /cluster/members and its counters.
 */
import type { Member, NodeId } from '../../core/member.js';
import type { MemberEntry, MemberStatus } from '../../core/membership/member-entry.js';
import type { RingEpoch } from '../../core/membership/ring-epoch.js';
import type { Ring } from '../../core/ring.js';
import type { MessageRouter } from '../message-router.js';
import type { Clock, Logger, Random, Transport } from '../runtime.js';
import type { GossipConfig } from './gossip-config.js';
import type { MembershipStore } from './membership-store.js';
import type { SuspicionCounters } from './suspicion.js';

export interface SelfDescription {
  id: NodeId;
  address: string;
  httpAddress?: string;
  zone?: string;
  weight: number;
}

export interface MembershipOptions {
  self: SelfDescription;
  /** this start's incarnation (NodeIdentity's): raised on every start */
  incarnation: number;
  /** partitions Q of the ring */
  partitions: number;
  /**
   * members known from configuration (--peers): known as up until the detector convicts them, and,
   * when no ring is stored, the members of the first ring (epoch 1) — with this node. Without any, the
   * node starts without a ring and takes the cluster's from gossip (a joining node).
   */
  knownMembers?: readonly Member[];
  /** build the first ring from self + knownMembers when none is stored @default true when knownMembers is given */
  bootstrapRing?: boolean;
  /**
   * the first ring, when the caller has already built buildRing(self + knownMembers) (a simulation of
   * many nodes builds it once); checked against the members it should hold
   */
  firstRing?: Ring;
  /** nodes to gossip with now and then, and when no live peer is known (their addresses are the transport's) */
  seeds?: readonly NodeId[];
  clock: Clock;
  random: Random;
  transport: Transport;
  router: MessageRouter;
  store?: MembershipStore;
  logger?: Logger;
  config?: Partial<GossipConfig>;
}

export type MembershipEvent =
  /** a member's row changed other than by a heartbeat (new member, status, address, zone, weight, incarnation) */
  | { kind: 'member'; id: NodeId; previous: MemberEntry | undefined; current: MemberEntry }
  | { kind: 'ring'; previous: RingEpoch | undefined; current: RingEpoch }
  /** an operator removed this node (its row says `left`): it must stop serving */
  | { kind: 'removed' };

/** One row of /cluster/members. */
export interface MemberView {
  id: NodeId;
  address: string;
  httpAddress: string | null;
  zone: string | null;
  weight: number;
  status: MemberStatus;
  /** this node's suspicion level of the member (0 for itself and for members it has no detector for) */
  phi: number;
  heartbeat: number;
  incarnation: number;
}

export interface MembershipCounters extends SuspicionCounters {
  exchanges: number;
  exchangeFailures: number;
  /** gossip replies refused (malformed, another cluster) */
  refusedReplies: number;
  refutations: number;
  stalls: number;
  rumorsSent: number;
  ringsInstalled: number;
  ringsCommitted: number;
  ringsRefused: number;
  conflicts: number;
}

