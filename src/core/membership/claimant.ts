/**
 * Who may change the ring, when, and to what — computed by every node from its own view, with no
 * extra messages (a bully-style election, as Riak's claimant):
 * - the claimant is the lowest id among the ring's members that the local table does not mark down
 *   (or left); when it goes down, the next lowest takes over, and a restarted lower id takes back;
 * - a change commits only when the ring is ready: every member of the current ring (but those removed)
 *   is reachable (up or leaving, not suspect or down) and reports through its own gossiped row that it
 *   has installed the current ring. A member that cannot be reached blocks changes until an operator
 *   removes it, so the two sides of a partition cannot both commit: each sees the other side down;
 * - the next member set: the ring's members without the removed (left) ones, plus nodes that gossip
 *   themselves up but are not on the ring yet (a joining node). A change goes in two commits: first a
 *   pending ring (without leaving members) is committed beside the current one, and receivers pull
 *   their new partitions; once every receiver reports its transfers done, the pending ring becomes
 *   the ring.
 */
import type { NodeId } from '../member.js';
import type { Ring, RingMember } from '../ring.js';
import type { MemberEntry } from './member-entry.js';
import { epochFingerprint, type RingEpoch } from './ring-epoch.js';

/** The table as the claimant rules read it. */
export interface MemberLookup {
  get(id: NodeId): MemberEntry | undefined;
  entries(): readonly MemberEntry[];
}

/** The lowest ring member not marked down or left; undefined when there is none (or no ring). */
export function electClaimant(ring: Ring | undefined, table: MemberLookup): NodeId | undefined {
  if (ring === undefined) return undefined;
  for (const id of ring.nodeIds) {
    const status = table.get(id)?.status;
    if (status !== 'down' && status !== 'left') return id;
  }
  return undefined;
}

export interface Readiness {
  ready: boolean;
  /** members that block a change: unreachable, or not yet on the current ring */
  waitingFor: NodeId[];
}

export function ringReadiness(state: RingEpoch, table: MemberLookup): Readiness {
  const waitingFor: NodeId[] = [];
  const fingerprint = epochFingerprint(state);
  for (const id of epochMembers(state)) {
    const row = table.get(id);
    if (row?.status === 'left') continue;
    const reachable = row !== undefined && (row.status === 'up' || row.status === 'leaving');
    const installed = row !== undefined && row.ringEpoch === state.epoch && row.ringFingerprint === fingerprint;
    if (!reachable || !installed) waitingFor.push(id);
  }
  return { ready: waitingFor.length === 0, waitingFor };
}

/** the members of a ring epoch: its ring's, and its pending ring's */
export function epochMembers(state: RingEpoch): NodeId[] {
  if (!state.pending) return [...state.ring.nodeIds];
  return [...new Set([...state.ring.nodeIds, ...state.pending.nodeIds])].sort();
}

/**
 * The nodes that receive partitions when a pending ring takes over: for each partition, the nodes on
 * its pending preference list that are not on its current one.
 */
export function transferReceivers(state: RingEpoch, n: number): Set<NodeId> {
  const out = new Set<NodeId>();
  if (!state.pending) return out;
  for (let p = 0; p < state.ring.partitions; p++) {
    const now = state.ring.preferenceList(p, n).primaries;
    for (const id of state.pending.preferenceList(p, n).primaries) if (!now.includes(id)) out.add(id);
  }
  return out;
}

/** true when every receiver of the pending ring reports its transfers for this epoch done */
export function transfersComplete(state: RingEpoch, table: MemberLookup, n: number): boolean {
  for (const id of transferReceivers(state, n)) {
    const row = table.get(id);
    if (row?.status === 'left') continue; // removed meanwhile: the claimant re-plans
    if (row === undefined || row.transfersDone < state.epoch) return false;
  }
  return true;
}

/**
 * The member set the claimant should commit next, or undefined when the ring already has it. Zone
 * and weight come from each member's own row (a member restarted with a new weight is re-claimed).
 */
export function plannedMembers(ring: Ring, table: MemberLookup, opts: { withoutLeaving?: boolean } = {}): RingMember[] | undefined {
  const out: RingMember[] = [];
  for (const m of ring.members) {
    const row = table.get(m.id);
    if (row === undefined) out.push({ ...m });
    else if (row.status !== 'left' && !(opts.withoutLeaving && row.status === 'leaving')) out.push(placementOf(row));
  }
  for (const row of table.entries()) {
    if (row.status === 'up' && row.incarnation > 0 && !ring.hasMember(row.id)) out.push(placementOf(row));
  }
  out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (out.length === 0) return undefined;
  const same =
    out.length === ring.members.length &&
    out.every((m, i) => {
      const r = ring.members[i];
      return r.id === m.id && r.weight === m.weight && r.zone === m.zone;
    });
  return same ? undefined : out;
}

function placementOf(row: MemberEntry): RingMember {
  return row.zone === undefined ? { id: row.id, weight: row.weight } : { id: row.id, zone: row.zone, weight: row.weight };
}
