/**
 * Ring epochs: a ring (placement) plus the epoch it was committed at and the claimant that committed
 * it. Epoch 1 is the first ring, built from the configured members; every change the claimant commits
 * is the next epoch. Nodes gossip the newest ring they know; two rings with the same epoch (a commit
 * on each side of a split, or two clusters started apart that meet) are resolved the same way
 * everywhere: the lower claimant id, then more members, then the lower fingerprint — any total order
 * would do, what matters is that every node picks the same ring; the losing side's change is planned
 * again by the claimant from the merged member table.
 */
import { RingkvError } from '../errors.js';
import type { NodeId } from '../member.js';
import { MAX_PARTITIONS, isValidPartitionCount } from '../hash.js';
import { ringFromOwners, type Ring, type RingMember } from '../ring.js';
import { MAX_FINGERPRINT_CHARS, MAX_ZONE_CHARS, isCounter, isValidNodeId } from './member-entry.js';
import { MAX_DIGEST_ROWS } from './digest.js';

export interface RingEpoch {
  /** 1 = the first ring; each committed change adds one */
  readonly epoch: number;
  /** the node that committed it; '' for the first ring (built from configuration, not committed) */
  readonly claimant: NodeId | '';
  readonly ring: Ring;
  /**
   * the ring taking over, while partitions are transferred to their new replicas: writes reach the
   * replicas of both rings (W of each), reads stay with `ring`; the claimant commits the next epoch
   * with `pending` as its ring once every receiver has its data
   */
  readonly pending?: Ring;
}

/** what members acknowledge having installed: the ring's fingerprint, and the pending ring's */
export function epochFingerprint(state: RingEpoch): string {
  return state.pending ? `${state.ring.fingerprint}>${state.pending.fingerprint}` : state.ring.fingerprint;
}

/** What a gossip message says about the ring its sender holds: enough to tell whose is newer. */
export interface RingVersion {
  readonly epoch: number;
  readonly claimant: string;
  readonly members: number;
  readonly fingerprint: string;
}

/** A ring as it travels and is stored: owners as indexes into the id-sorted members. */
export interface RingEpochWire {
  epoch: number;
  claimant: string;
  partitions: number;
  members: RingMember[];
  owners: number[];
  /** the pending ring, when one is taking over */
  pending?: { members: RingMember[]; owners: number[] };
}

export function ringVersion(state: RingEpoch): RingVersion {
  return { epoch: state.epoch, claimant: state.claimant, members: state.ring.members.length, fingerprint: epochFingerprint(state) };
}

/** Positive when a is the ring to keep over b. */
export function compareRingVersions(a: RingVersion, b: RingVersion): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  if (a.claimant !== b.claimant) return a.claimant < b.claimant ? 1 : -1;
  if (a.members !== b.members) return a.members - b.members;
  if (a.fingerprint !== b.fingerprint) return a.fingerprint < b.fingerprint ? 1 : -1;
  return 0;
}

/** The ring every node keeps of the two (commutative: resolve(a, b) === resolve(b, a) for different rings). */
export function resolveRings(a: RingEpoch, b: RingEpoch): RingEpoch {
  return compareRingVersions(ringVersion(a), ringVersion(b)) >= 0 ? a : b;
}

function encodePlacement(ring: Ring): { members: RingMember[]; owners: number[] } {
  const indexOf = new Map(ring.nodeIds.map((id, i) => [id, i]));
  return { members: ring.members.map((m) => ({ ...m })), owners: ring.owners().map((id) => indexOf.get(id)!) };
}

export function encodeRingEpoch(state: RingEpoch): RingEpochWire {
  return {
    epoch: state.epoch,
    claimant: state.claimant,
    partitions: state.ring.partitions,
    ...encodePlacement(state.ring),
    ...(state.pending ? { pending: encodePlacement(state.pending) } : {}),
  };
}

function malformed(why: string): RingkvError {
  return new RingkvError('MALFORMED_REQUEST', `malformed ring: ${why}`);
}

/** Validates a ring from a peer or the store; throws MALFORMED_REQUEST. */
export function parseRingEpoch(raw: unknown): RingEpoch {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw malformed('not an object');
  const r = raw as Record<string, unknown>;
  if (!isCounter(r.epoch) || r.epoch < 1) throw malformed('epoch must be an integer >= 1');
  if (r.claimant !== '' && !isValidNodeId(r.claimant)) throw malformed('bad claimant');
  if (typeof r.partitions !== 'number' || !isValidPartitionCount(r.partitions) || r.partitions > MAX_PARTITIONS) throw malformed('bad partition count');
  const ring = parsePlacement(r.members, r.owners, r.partitions);
  if (r.pending === undefined || r.pending === null) return { epoch: r.epoch, claimant: r.claimant as NodeId | '', ring };
  if (typeof r.pending !== 'object' || Array.isArray(r.pending)) throw malformed('pending is not an object');
  const pending = r.pending as Record<string, unknown>;
  return { epoch: r.epoch, claimant: r.claimant as NodeId | '', ring, pending: parsePlacement(pending.members, pending.owners, r.partitions) };
}

function parsePlacement(rawMembers: unknown, rawOwners: unknown, partitions: number): Ring {
  const r = { members: rawMembers, owners: rawOwners, partitions };
  if (!Array.isArray(r.members) || r.members.length === 0 || r.members.length > MAX_DIGEST_ROWS) throw malformed('members must be a non-empty array');
  const members: RingMember[] = r.members.map((m: unknown, i: number) => {
    if (m === null || typeof m !== 'object') throw malformed(`member ${i} is not an object`);
    const { id, zone, weight } = m as Record<string, unknown>;
    if (!isValidNodeId(id)) throw malformed(`member ${i}: bad id`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0 || weight > 1e6) throw malformed(`member ${i}: bad weight`);
    if (zone !== undefined && (typeof zone !== 'string' || zone.length === 0 || zone.length > MAX_ZONE_CHARS)) throw malformed(`member ${i}: bad zone`);
    return zone === undefined ? { id, weight } : { id, zone, weight };
  });
  const sorted = members.map((m) => m.id);
  for (let i = 1; i < sorted.length; i++) if (!(sorted[i - 1] < sorted[i])) throw malformed('members must be sorted by id without repeats');
  if (!Array.isArray(r.owners) || r.owners.length !== r.partitions) throw malformed('owners must list one member per partition');
  const owners: NodeId[] = r.owners.map((o: unknown) => {
    if (typeof o !== 'number' || !Number.isInteger(o) || o < 0 || o >= members.length) throw malformed('an owner is not a member index');
    return sorted[o];
  });
  let ring: Ring;
  try {
    ring = ringFromOwners(members, r.partitions, owners);
  } catch (e) {
    throw malformed((e as Error).message);
  }
  return ring;
}

/** Validates a RingVersion from a peer; throws MALFORMED_REQUEST. */
export function parseRingVersion(raw: unknown): RingVersion {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw malformed('version is not an object');
  const { epoch, claimant, members, fingerprint } = raw as Record<string, unknown>;
  if (!isCounter(epoch)) throw malformed('version epoch must be an integer >= 0');
  if (claimant !== '' && !isValidNodeId(claimant)) throw malformed('version: bad claimant');
  if (!isCounter(members)) throw malformed('version: bad member count');
  if (typeof fingerprint !== 'string' || fingerprint.length > MAX_FINGERPRINT_CHARS) throw malformed('version: bad fingerprint');
  return { epoch, claimant: claimant as string, members, fingerprint };
}

/** The version of "no ring yet" (a joining node): older than every ring. */
export const NO_RING_VERSION: RingVersion = Object.freeze({ epoch: 0, claimant: '', members: 0, fingerprint: '' });
