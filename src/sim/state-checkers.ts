import type { NodeId } from '../core/member.js';
import { describeOp, type OpRecord } from './history.js';
import { durablyAcknowledged, mayHaveApplied, type CheckOptions, type Violation } from './checkers.js';

/**
 * Checkers over the cluster's state rather than its client history, for the membership and
 * self-healing families: where the nodes agree the data lives, what they store there, what they
 * still owe each other (hints), and what a transfer or a tombstone reaper left behind. Each states
 * when it is SOUND, like the history checkers (checkers.ts).
 */

/** one live member's installed ring, as text (epoch, owners, pending owners) */
export interface RingSighting {
  node: NodeId;
  text: string;
  epoch: number;
  pending: boolean;
  /** the ring's members */
  members: readonly NodeId[];
}

/**
 * Ring agreement: once the faults are repaired and every membership change is complete, every live
 * member has installed the same ring, with no pending ring, holding exactly the members the run left
 * in the cluster (joined ones in, those that left or were removed out).
 *
 * SOUND after a wait that covers a ring change on a clean network with every member up: gossip
 * spreads a ring in a few rounds, the claimant commits a change only when every member reports the
 * current ring (so a member down blocks it: the wait starts once every member is up), receivers'
 * transfers take an exchange per partition and source plus a request timeout.
 */
export function checkRingAgreement(sightings: readonly RingSighting[], expected: readonly NodeId[], waitedMs: number): Violation[] {
  const texts = new Set(sightings.map((s) => s.text));
  const want = [...expected].sort().join(',');
  const describe = sightings.map((s) => `${s.node}: epoch ${s.epoch}${s.pending ? ' (pending)' : ''} members ${[...s.members].sort().join(',')}`).join('; ');
  const problems: string[] = [];
  if (texts.size > 1) problems.push('the live members have installed different rings');
  if (sightings.some((s) => s.pending)) problems.push('a ring change is still pending');
  if (sightings.some((s) => [...s.members].sort().join(',') !== want)) problems.push(`the ring's members are not the cluster's (${want})`);
  if (problems.length === 0) return [];
  return [{ checker: 'ring-agreement', message: `${waitedMs} ms after the faults were repaired, ${problems.join('; ')}: ${describe}`, opIds: [] }];
}

/** what one node stores: the ring partitions it holds objects in, and the ones it replicates */
export interface Holding {
  node: NodeId;
  stored: readonly number[];
  replicates: ReadonlySet<number>;
}

/**
 * Ownership matches the ring: after the drain grace, no node stores objects in a partition it does
 * not replicate under the agreed ring (a node that left replicates none). Hints live outside the
 * ring's partitions and are not counted.
 *
 * SOUND once the ring is agreed and stable and the drain grace has passed with every node up and the
 * network clean: a partition handed away is handed off (pushed to its replicas) and dropped after the
 * grace, and nothing writes to a partition a node does not hold (replica handlers refuse it).
 */
export function checkOwnership(holdings: readonly Holding[]): Violation[] {
  const violations: Violation[] = [];
  for (const h of holdings) {
    const extra = h.stored.filter((p) => !h.replicates.has(p));
    if (extra.length === 0) continue;
    violations.push({
      checker: 'ownership',
      message: `${h.node} still stores partition(s) ${extra.join(', ')}, which it does not replicate under the agreed ring (it replicates ${h.replicates.size === 0 ? 'none' : [...h.replicates].sort((a, b) => a - b).join(', ')}), after the drain grace`,
      opIds: [],
    });
  }
  return violations;
}

/** hints a node still holds for a target */
export interface PendingHints {
  node: NodeId;
  target: NodeId;
  count: number;
}

/**
 * Hints are handed back: once their targets are up (and the network clean) for a while, no node
 * holds a hint for a live member.
 *
 * SOUND after a wait covering a replay: the stand-in sees the target up (gossip), its sweep runs each
 * second, hints go at the replay rate (1,000 objects/s by default), each deleted once acknowledged;
 * hints past their age or byte bound are dropped instead. Hints for members that left or were
 * removed are reported too: nothing is left to deliver them to but the partition's replicas.
 */
export function checkHintsDrained(pending: readonly PendingHints[], waitedMs: number): Violation[] {
  if (pending.length === 0) return [];
  const list = pending.map((p) => `${p.node} holds ${p.count} for ${p.target}`).join('; ');
  return [{ checker: 'hints-drained', message: `${waitedMs} ms after every node was up on a clean network, hints are still held: ${list}`, opIds: [] }];
}

/** the live values each replica of a key stores at one moment */
export interface StoredValues {
  key: string;
  replicas: Array<{ node: NodeId; values: readonly string[] }>;
}

/**
 * No resurrection in storage: once a write covering value v (a delete, or a put with a context that
 * saw v) was durably acknowledged, no replica stores v as a live value at the end — whatever was
 * reaped, handed back late or pulled in a transfer meanwhile. This looks at what the replicas hold,
 * not at what a read returns, so a deleted value lurking on one replica is found before a read would
 * pick it up.
 *
 * SOUND when taken after the replicas of the key converged (give it only keys whose replicas are
 * identical): the coverer's version reached some replica, every replica then holds the merge, and a
 * merge never lets a covered version back in; values are unique per write, so nothing writes v again.
 */
export function checkNoResurrection(ops: readonly OpRecord[], stored: readonly StoredValues[], options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  for (const s of stored) {
    const coverers = ops.filter((o) => o.key === s.key && (o.kind === 'delete' || o.kind === 'put') && o.supersedes.length > 0 && durablyAcknowledged(o, options));
    for (const r of s.replicas) {
      for (const v of r.values) {
        const x = coverers.find((o) => o.supersedes.includes(v));
        if (!x) continue;
        violations.push({
          checker: 'no-resurrection',
          message: `${r.node} stores ${JSON.stringify(v)} of ${JSON.stringify(s.key)} as a live value at the end, yet ${describeOp(x)} covered it`,
          opIds: [x.id],
        });
      }
    }
  }
  return violations;
}

/** a tombstone still stored after a reaping pass that should have taken it */
export interface RipeTombstone {
  node: NodeId;
  key: string;
  deletedAgoMs: number;
}

/**
 * Tombstones are reaped when it is safe: after the replicas converged on a stable ring with every
 * primary live, the reapers remove every tombstone older than the grace.
 *
 * SOUND after a wait of twice the drain grace (the reaper wants the ring unchanged that long, and a
 * restart counts), then two anti-entropy periods and a few reaping intervals: each partition's first
 * primary leads its pass, asks every other primary whether it holds the identical tombstone
 * (converged: yes) and deletes it everywhere — but an exchange running mid-reap can push the
 * tombstone back to a replica that had just reaped it, and only the next exchange period spreads it
 * to the others again for another pass.
 */
export function checkTombstonesReaped(ripe: readonly RipeTombstone[]): Violation[] {
  if (ripe.length === 0) return [];
  const list = ripe.map((t) => `${t.node}: ${JSON.stringify(t.key)} (deleted ${t.deletedAgoMs} ms ago)`).join('; ');
  return [{ checker: 'tombstones-reaped', message: `tombstones past their grace survived a reaping pass on a stable, converged cluster: ${list}`, opIds: [] }];
}

/** what one new replica held when a ring change committed */
export interface TransferSnapshot {
  /** the ring epoch that made the pending ring the ring */
  epoch: number;
  /** virtual ms (history time) the change's pending ring was first installed, and the commit */
  pendingSinceMs: number;
  committedAtMs: number;
  node: NodeId;
  key: string;
  /** the replica's live values then */
  values: readonly string[];
}

/**
 * Transfers are complete when a change commits: a node that becomes a replica of a key's partition
 * holds, at the commit, every value of every put of that key that was durably acknowledged before
 * the change's pending ring was first installed anywhere and that no write invoked before the commit
 * may have superseded.
 *
 * SOUND for a new replica that is up at the commit, on durable disks: such a put surely sits on some
 * current replica (the checker's per-replica loss count included), and the new replica reported its
 * transfers done only after pulling from every current replica not removed — in exchanges begun after
 * it installed that pending ring, hence after the put was acknowledged; only a covering write can
 * take a value away, and no partition is dropped or tombstone reaped while a change is pending.
 */
export function checkTransfersComplete(ops: readonly OpRecord[], snapshots: readonly TransferSnapshot[], options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  for (const snap of snapshots) {
    const keyOps = ops.filter((o) => o.key === snap.key);
    const missing = keyOps.filter(
      (p) =>
        p.kind === 'put' &&
        p.value !== undefined &&
        p.endMs !== undefined &&
        p.endMs < snap.pendingSinceMs &&
        durablyAcknowledged(p, options) &&
        !snap.values.includes(p.value) &&
        !keyOps.some((x) => (x.kind === 'put' || x.kind === 'delete') && mayHaveApplied(x) && x.supersedes.includes(p.value!) && x.startMs <= snap.committedAtMs),
    );
    for (const p of missing) {
      violations.push({
        checker: 'transfers-complete',
        message: `${snap.node} became a replica of ${JSON.stringify(snap.key)} at epoch ${snap.epoch} (committed at ${snap.committedAtMs} ms) without ${describeOp(p)}, acknowledged before the change began at ${snap.pendingSinceMs} ms; it held ${JSON.stringify(snap.values)}`,
        opIds: [p.id],
      });
    }
  }
  return violations;
}
