/**
 * The rings a node holds: the installed one, the history of epochs it installed (persisted), which
 * ring to keep when a peer offers another, and what the claimant commits next.
 */
import { RingkvError } from '../../core/errors.js';
import type { Member, NodeId } from '../../core/member.js';
import { electClaimant, plannedMembers, ringReadiness, transfersComplete, type MemberLookup } from '../../core/membership/claimant.js';
import { NO_RING_VERSION, compareRingVersions, ringVersion, type RingEpoch, type RingVersion } from '../../core/membership/ring-epoch.js';
import { buildRing, reclaimRing, type Ring } from '../../core/ring.js';

export type RingOffer = 'newer' | 'not-newer' | 'wrong-partitions';

export class RingKeeper {
  private installed: RingEpoch | undefined;
  private epochs: RingEpoch[];

  /** throws BAD_PARAMETER when the stored ring has another partition count than the node's */
  constructor(
    readonly partitions: number,
    private readonly historyLength: number,
    stored: readonly RingEpoch[],
  ) {
    this.epochs = stored.slice(-historyLength);
    this.installed = this.epochs.at(-1);
    if (this.installed !== undefined && this.installed.ring.partitions !== partitions) {
      throw new RingkvError('BAD_PARAMETER', `the stored ring has ${this.installed.ring.partitions} partitions but the node is configured with ${partitions}`);
    }
  }

  get current(): RingEpoch | undefined {
    return this.installed;
  }

  /** installed rings, oldest first */
  get history(): readonly RingEpoch[] {
    return this.epochs;
  }

  version(): RingVersion {
    return this.installed === undefined ? NO_RING_VERSION : ringVersion(this.installed);
  }

  /**
   * The first ring (epoch 1) of a cluster started from a static member list, unless a ring is already
   * held. `given` is that ring built by the caller (checked to hold exactly `members`). True if made.
   */
  bootstrap(members: readonly Member[], given?: Ring): boolean {
    if (this.installed !== undefined) return false;
    if (given !== undefined && (given.partitions !== this.partitions || given.nodeIds.length !== members.length || !members.every((m) => given.hasMember(m.id)))) {
      throw new RingkvError('BAD_PARAMETER', 'firstRing does not hold exactly this node and knownMembers');
    }
    this.install({ epoch: 1, claimant: '', ring: given ?? buildRing(members, this.partitions) });
    return true;
  }

  judge(ring: RingEpoch): RingOffer {
    if (ring.ring.partitions !== this.partitions) return 'wrong-partitions';
    if (this.installed !== undefined && compareRingVersions(ringVersion(ring), ringVersion(this.installed)) <= 0) return 'not-newer';
    return 'newer';
  }

  /** Installs ring; returns the one it replaced. */
  install(ring: RingEpoch): RingEpoch | undefined {
    const previous = this.installed;
    this.installed = ring;
    this.epochs = [...this.epochs, ring].slice(-this.historyLength);
    return previous;
  }

  claimant(table: MemberLookup): NodeId | undefined {
    return electClaimant(this.installed?.ring, table);
  }

  /**
   * The ring `self` commits now, when it is the claimant and every member of the current epoch is
   * reachable and on it; else undefined. A change takes two commits:
   * 1. the member set should change → the current ring plus a pending ring for the planned members
   *    (leaving members left out): writes then reach both rings' replicas, receivers pull their data;
   * 2. every receiver reports its transfers done → the pending ring becomes the ring.
   * A member-set change during the transfers (a receiver removed, another join) re-plans the pending ring.
   */
  nextCommit(self: NodeId, table: MemberLookup, replicationFactor: number): RingEpoch | undefined {
    const current = this.installed;
    if (current === undefined || this.claimant(table) !== self) return undefined;
    if (!ringReadiness(current, table).ready) return undefined;
    const epoch = current.epoch + 1;
    if (current.pending) {
      const replanned = plannedMembers(current.pending, table, { withoutLeaving: true });
      if (replanned !== undefined) return { epoch, claimant: self, ring: current.ring, pending: reclaimRing(current.pending, replanned, replicationFactor) };
      if (!transfersComplete(current, table, replicationFactor)) return undefined;
      return { epoch, claimant: self, ring: current.pending };
    }
    const planned = plannedMembers(current.ring, table, { withoutLeaving: true });
    if (planned === undefined) return undefined;
    return { epoch, claimant: self, ring: current.ring, pending: reclaimRing(current.ring, planned, replicationFactor) };
  }
}
