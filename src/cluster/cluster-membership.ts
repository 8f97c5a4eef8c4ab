import type { Member, NodeId } from '../core/member.js';
import { epochMembers } from '../core/membership/claimant.js';
import type { RingEpoch } from '../core/membership/ring-epoch.js';
import type { GossipConfig } from './membership/gossip-config.js';
import { Membership, type MemberView } from './membership/membership.js';
import type { MembershipStore } from './membership/membership-store.js';
import type { MessageRouter } from './message-router.js';
import type { NodeIdentity } from './node-identity.js';
import type { RingState, RingView } from './ring-view.js';
import type { Clock, Logger, Random, Transport } from './runtime.js';
import type { TransferMembership } from './transfers/partition-transfers.js';

/** How a node takes part in gossip membership (absent: a static member list, as in unit tests). */
export interface MembershipSettings {
  /** where the member table and ring history are kept (beside the data) */
  store?: MembershipStore;
  /** gossip naming another cluster is refused @default "ringkv" */
  clusterName?: string;
  /** nodes to gossip with now and then, and to join through (ids the transport can resolve) */
  seeds?: readonly NodeId[];
  /**
   * build the first ring (epoch 1) from this node and the configured members when none is stored —
   * every node of a cluster started from one static list builds the same one. A node joining a
   * running cluster does not: it learns the cluster's ring and the claimant adds it. @default true
   */
  bootstrapRing?: boolean;
  config?: Partial<GossipConfig>;
}

/**
 * The node's gossip membership: opens Membership with the node's identity, turns the rings it
 * installs into the node's RingView (a ring change swaps the placement in one step), and answers the
 * transfers' questions about the member table.
 */
export class ClusterMembership implements TransferMembership {
  private constructor(readonly membership: Membership) {}

  static async open(opts: {
    self: Member;
    others: readonly Member[];
    identity: NodeIdentity;
    partitions: number;
    n: number;
    settings: MembershipSettings;
    clock: Clock;
    random: Random;
    transport: Transport;
    router: MessageRouter;
    logger: Logger;
    view: RingView;
  }): Promise<ClusterMembership> {
    const { self, settings } = opts;
    const membership = await Membership.open({
      self: { id: self.id, address: self.address, weight: self.weight, ...(self.httpAddress ? { httpAddress: self.httpAddress } : {}), ...(self.zone ? { zone: self.zone } : {}) },
      incarnation: opts.identity.incarnation,
      partitions: opts.partitions,
      knownMembers: opts.others,
      bootstrapRing: settings.bootstrapRing ?? true,
      seeds: settings.seeds ?? opts.others.map((m) => m.id),
      clock: opts.clock,
      random: opts.random,
      transport: opts.transport,
      router: opts.router,
      ...(settings.store ? { store: settings.store } : {}),
      logger: opts.logger,
      config: { ...(settings.config ?? {}), ...(settings.clusterName ? { clusterName: settings.clusterName } : {}), replicationFactor: opts.n },
    });
    const glue = new ClusterMembership(membership);
    const ring = membership.ring();
    if (ring) opts.view.replace(glue.stateOf(ring));
    membership.onEvent((e) => {
      if (e.kind === 'ring') opts.view.replace(glue.stateOf(e.current));
    });
    return glue;
  }

  /** the node's view of a ring epoch, with each member's address from the table */
  stateOf(epoch: RingEpoch): RingState {
    const members: Member[] = epochMembers(epoch).map((id) => {
      const row = this.membership.row(id);
      const placed = (epoch.pending?.members ?? []).find((m) => m.id === id) ?? epoch.ring.members.find((m) => m.id === id)!;
      return {
        id,
        address: row?.address ?? '',
        weight: placed.weight,
        ...(placed.zone !== undefined ? { zone: placed.zone } : {}),
        ...(row?.httpAddress ? { httpAddress: row.httpAddress } : {}),
      };
    });
    return { epoch: epoch.epoch, members, ring: epoch.ring, ...(epoch.pending ? { pending: epoch.pending } : {}) };
  }

  /** the internode address the table knows for a member */
  addressOf(id: NodeId): string | undefined {
    const a = this.membership.row(id)?.address;
    return a === undefined || a === '' ? undefined : a;
  }

  members(): MemberView[] {
    return this.membership.members();
  }

  everyoneOn(epoch: number): boolean {
    const ring = this.membership.ring();
    if (ring === undefined || ring.epoch < epoch) return false;
    for (const id of epochMembers(ring)) {
      const row = this.membership.row(id);
      if (row === undefined || row.status === 'left') continue;
      if (row.ringEpoch < epoch) return false;
    }
    return true;
  }

  isRemoved(id: NodeId): boolean {
    return this.membership.statusOf(id) === 'left';
  }

  reportTransfersDone(epoch: number): void {
    this.membership.reportTransfersDone(epoch);
  }

  /** true while this node has no ring yet (started to join a cluster, not heard from it yet) */
  get joining(): boolean {
    return this.membership.ring() === undefined;
  }
}
