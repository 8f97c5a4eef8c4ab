/**
 * The consistent-hash ring: Q equal partitions of the 64-bit key-hash space, each owned by one
 * node, claimed in proportion to node weight. A cluster's first ring is a pure function of the member
 * list (ids, weights, zones) and Q (buildRing): every node that knows the same members, in any order,
 * builds the same ring. Later rings are claimed from the current one (reclaimRing), so a change moves
 * only its share; the claimant commits them as ring epochs (src/core/membership/ring-epoch.ts).
 */
import { RingkvError } from './errors.js';
import { assertValidPartitionCount, keyBytes, murmur3x86_128, partitionOf } from './hash.js';
import type { Member, NodeId } from './member.js';
import { claimPartitions } from './ring-claim-fresh.js';
import { reclaimPartitions } from './ring-claim.js';
import { clockwiseNodeOrder, splitPreference, type PreferenceList } from './ring-preference.js';

export type { PreferenceList } from './ring-preference.js';
export { BALANCE_TOLERANCE } from './ring-claim-fresh.js';

/** What a ring says about a member: the fields placement depends on. */
export interface RingMember {
  id: NodeId;
  zone?: string;
  weight: number;
}

/** The shape of GET /cluster/ring before the HTTP layer adds anything. */
export interface RingJson {
  partitions: number;
  /** members sorted by id */
  members: RingMember[];
  /** owners[p] = the node that owns partition p */
  owners: NodeId[];
}

export interface RingDescription extends RingJson {
  n: number;
  /** preferenceLists[p] for every partition p */
  preferenceLists: PreferenceList[];
}

export class Ring {
  /** number of partitions Q (a power of two) */
  readonly partitions: number;
  /** the members placement used, sorted by id */
  readonly members: readonly RingMember[];
  /** member ids sorted */
  readonly nodeIds: readonly NodeId[];
  /** a short hex digest of members (id, zone, weight) and owners: equal rings have equal ones */
  readonly fingerprint: string;

  private readonly ownerIndex: Int32Array;
  private readonly indexById: ReadonlyMap<NodeId, number>;
  /** zone per node index, or undefined when no member has a zone */
  private readonly zoneKeys: readonly string[] | undefined;
  private readonly ownerIds: readonly NodeId[];
  private readonly orderCache: Array<number[] | undefined>;
  private readonly preferenceCache = new Map<number, Array<PreferenceList | undefined>>();

  /** Use buildRing(); this constructor trusts its (already validated, id-sorted) inputs. */
  constructor(members: readonly RingMember[], partitions: number, ownerIndex: Int32Array) {
    this.partitions = partitions;
    this.members = Object.freeze(members.map((m) => Object.freeze({ ...m })));
    this.nodeIds = Object.freeze(members.map((m) => m.id));
    this.ownerIndex = ownerIndex;
    this.indexById = new Map(this.nodeIds.map((id, i) => [id, i]));
    const anyZone = members.some((m) => m.zone !== undefined);
    // A zone-less node among zoned ones counts as a zone of its own; the NUL prefix keeps that key
    // from colliding with a real zone name.
    this.zoneKeys = anyZone ? members.map((m) => m.zone ?? `\u0000node:${m.id}`) : undefined;
    this.ownerIds = Object.freeze(Array.from(ownerIndex, (i) => this.nodeIds[i]));
    this.orderCache = new Array<number[] | undefined>(partitions);
    this.fingerprint = ringFingerprint(this.members, ownerIndex);
  }

  /** The node that owns `partition`. */
  ownerOf(partition: number): NodeId {
    this.checkPartition(partition);
    return this.ownerIds[partition];
  }

  /** owners[p] for every partition p. */
  owners(): readonly NodeId[] {
    return this.ownerIds;
  }

  /** The partition a key falls in (UTF-8 bytes for strings). */
  partitionForKey(key: Uint8Array | string): number {
    return partitionOf(keyBytes(key), this.partitions);
  }

  /**
   * The replicas of `partition` for replication factor n: primaries are the first min(n, nodes)
   * distinct nodes walking clockwise, distinct zones first; fallbacks are all other nodes in walk
   * order. Cached: cheap to call per request.
   */
  preferenceList(partition: number, n: number): PreferenceList {
    this.checkPartition(partition);
    checkReplicationFactor(n);
    let lists = this.preferenceCache.get(n);
    if (lists === undefined) {
      lists = new Array<PreferenceList | undefined>(this.partitions);
      this.preferenceCache.set(n, lists);
    }
    let list = lists[partition];
    if (list === undefined) {
      list = splitPreference(this.clockwiseOrder(partition), n, this.nodeIds, this.zoneKeys);
      lists[partition] = list;
    }
    return list;
  }

  preferenceListForKey(key: Uint8Array | string, n: number): PreferenceList {
    return this.preferenceList(this.partitionForKey(key), n);
  }

  /** preferenceList(p, n) for every partition p, in partition order. */
  preferenceLists(n: number): PreferenceList[] {
    const out: PreferenceList[] = [];
    for (let p = 0; p < this.partitions; p++) out.push(this.preferenceList(p, n));
    return out;
  }

  hasMember(id: NodeId): boolean {
    return this.indexById.has(id);
  }

  /** Partitions `id` owns (is first in the preference list of), ascending; empty for non-members. */
  partitionsOwnedBy(id: NodeId): number[] {
    const index = this.indexById.get(id);
    const out: number[] = [];
    if (index === undefined) return out;
    for (let p = 0; p < this.partitions; p++) if (this.ownerIndex[p] === index) out.push(p);
    return out;
  }

  /** Partitions for which `id` is one of the n primaries, ascending: the data it should hold. */
  partitionsReplicatedBy(id: NodeId, n: number): number[] {
    checkReplicationFactor(n);
    const out: number[] = [];
    if (!this.indexById.has(id)) return out;
    for (let p = 0; p < this.partitions; p++) if (this.preferenceList(p, n).primaries.includes(id)) out.push(p);
    return out;
  }

  /** Partition count per member, in id order (members owning none appear with 0). */
  ownedCounts(): Map<NodeId, number> {
    const counts = new Array<number>(this.nodeIds.length).fill(0);
    for (let p = 0; p < this.partitions; p++) counts[this.ownerIndex[p]]++;
    return new Map(this.nodeIds.map((id, i) => [id, counts[i]]));
  }

  toJSON(): RingJson {
    return {
      partitions: this.partitions,
      members: this.members.map((m) => ({ ...m })),
      owners: [...this.ownerIds],
    };
  }

  /** toJSON() plus n and every partition's preference list: the body of GET /cluster/ring. */
  describe(n: number): RingDescription {
    return { ...this.toJSON(), n, preferenceLists: this.preferenceLists(n) };
  }

  private clockwiseOrder(partition: number): number[] {
    let order = this.orderCache[partition];
    if (order === undefined) {
      order = clockwiseNodeOrder(this.ownerIndex, this.nodeIds.length, partition);
      this.orderCache[partition] = order;
    }
    return order;
  }

  private checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw new RingkvError('BAD_PARAMETER', `partition must be an integer in [0, ${this.partitions}), got ${String(partition)}`, {
        partition,
      });
    }
  }
}

function checkReplicationFactor(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RingkvError('BAD_PARAMETER', `replication factor n must be a positive integer, got ${String(n)}`, { n });
  }
}

/**
 * Builds the ring for a member list: validates it (non-empty, unique non-empty ids, finite
 * positive weights, Q a power of two) and claims partitions. Member order does not matter.
 */
export function buildRing(members: readonly Member[] | readonly RingMember[], partitions: number): Ring {
  assertValidPartitionCount(partitions);
  const ringMembers = validRingMembers(members);
  const owners = claimPartitions(
    ringMembers.map((m) => m.id),
    ringMembers.map((m) => m.weight),
    partitions,
  );
  return new Ring(ringMembers, partitions, owners);
}

/**
 * The ring after a membership change, claimed from `current`: a join moves about the joiner's share,
 * a leave or remove only the leaver's partitions, and every member ends within its balance band.
 * `targetN` is the replication factor the spread of partitions aims at (default 3).
 */
export function reclaimRing(current: Ring, members: readonly Member[] | readonly RingMember[], targetN = 3): Ring {
  const ringMembers = validRingMembers(members);
  const indexOf = new Map(ringMembers.map((m, i) => [m.id, i]));
  const currentOwners = Int32Array.from(current.owners(), (id) => indexOf.get(id) ?? -1);
  const owners = reclaimPartitions({
    ids: ringMembers.map((m) => m.id),
    weights: ringMembers.map((m) => m.weight),
    zones: ringMembers.map((m) => m.zone),
    currentOwners,
    wasMember: ringMembers.map((m) => current.hasMember(m.id)),
    targetN,
  });
  return new Ring(ringMembers, current.partitions, owners);
}

/** A ring from an explicit owner list (a ring received from a peer or read from disk), validated. */
export function ringFromOwners(members: readonly RingMember[], partitions: number, owners: readonly NodeId[]): Ring {
  assertValidPartitionCount(partitions);
  const ringMembers = validRingMembers(members);
  if (owners.length !== partitions) {
    throw new RingkvError('BAD_PARAMETER', `a ring of ${partitions} partitions needs ${partitions} owners, got ${owners.length}`);
  }
  const indexOf = new Map(ringMembers.map((m, i) => [m.id, i]));
  const ownerIndex = new Int32Array(partitions);
  for (let p = 0; p < partitions; p++) {
    const i = indexOf.get(owners[p]);
    if (i === undefined) throw new RingkvError('BAD_PARAMETER', `partition ${p}: owner ${String(owners[p])} is not a member`, { partition: p });
    ownerIndex[p] = i;
  }
  return new Ring(ringMembers, partitions, ownerIndex);
}

/** Validated placement fields of a member list, sorted by id; throws BAD_PARAMETER. */
function validRingMembers(members: readonly Member[] | readonly RingMember[]): RingMember[] {
  if (members.length === 0) throw new RingkvError('BAD_PARAMETER', 'a ring needs at least one member');
  const ringMembers: RingMember[] = members.map((m) => {
    if (typeof m.id !== 'string' || m.id.length === 0) {
      throw new RingkvError('BAD_PARAMETER', `member id must be a non-empty string, got ${JSON.stringify(m.id)}`);
    }
    if (typeof m.weight !== 'number' || !Number.isFinite(m.weight) || m.weight <= 0) {
      throw new RingkvError('BAD_PARAMETER', `member ${m.id}: weight must be a finite number > 0, got ${String(m.weight)}`, {
        id: m.id,
        weight: m.weight,
      });
    }
    if (m.zone !== undefined && typeof m.zone !== 'string') {
      throw new RingkvError('BAD_PARAMETER', `member ${m.id}: zone must be a string`, { id: m.id });
    }
    return m.zone === undefined ? { id: m.id, weight: m.weight } : { id: m.id, zone: m.zone, weight: m.weight };
  });
  // Code-unit order, not localeCompare: it must not depend on the host's locale.
  ringMembers.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < ringMembers.length; i++) {
    if (ringMembers[i].id === ringMembers[i - 1].id) {
      throw new RingkvError('BAD_PARAMETER', `duplicate member id ${ringMembers[i].id}`, { id: ringMembers[i].id });
    }
  }
  return ringMembers;
}

/** How many partitions have a different owner in b than in a (same Q required). */
export function partitionsMoved(a: Ring, b: Ring): number {
  if (a.partitions !== b.partitions) {
    throw new RingkvError('BAD_PARAMETER', `cannot compare rings of ${a.partitions} and ${b.partitions} partitions`);
  }
  const ownersA = a.owners();
  const ownersB = b.owners();
  let moved = 0;
  for (let p = 0; p < a.partitions; p++) if (ownersA[p] !== ownersB[p]) moved++;
  return moved;
}

function ringFingerprint(members: readonly RingMember[], ownerIndex: Int32Array): string {
  const text = JSON.stringify(members.map((m) => [m.id, m.zone ?? null, m.weight]));
  const memberBytes = new TextEncoder().encode(text);
  const bytes = new Uint8Array(memberBytes.length + ownerIndex.length * 4);
  bytes.set(memberBytes);
  const view = new DataView(bytes.buffer, memberBytes.length);
  for (let p = 0; p < ownerIndex.length; p++) view.setInt32(p * 4, ownerIndex[p], false);
  const h = murmur3x86_128(bytes, 0);
  return Array.from(h, (w) => w.toString(16).padStart(8, '0')).join('');
}
