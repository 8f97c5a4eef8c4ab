/**
 * One row of the gossiped member table and the rule that merges two versions of it.
 *
 * Who writes what:
 * - the member itself owns its row: address, zone, weight, incarnation (raised on every restart),
 *   heartbeat (raised every gossip interval and on every change it makes), the ring it has installed,
 *   and the statuses `up`, `leaving`, `left` (a finished leave) and `down` (a graceful stop);
 * - other nodes only assert `suspect` / `down` (the failure detector) or `left` (an operator's remove)
 *   about the (incarnation, heartbeat) they last saw.
 *
 * The merge keeps the greater row under one total order, so merging is commutative, associative and
 * idempotent (a join semilattice) and every node that saw the same rows holds the same table:
 *   1. incarnation: a restarted node's rows beat everything said about its previous life;
 *   2. `left` beats every other status of the same incarnation, whatever its heartbeat: a removed node
 *      cannot undo its removal by heartbeating, only by restarting (which the wiring refuses);
 *   3. heartbeat: a suspicion or a down mark is about the last heartbeat its author saw, so any newer
 *      heartbeat from the node refutes it — a paused node comes back `up` by heartbeating again;
 *   4. status precedence up < leaving < suspect < down < left at the same heartbeat;
 *   5. the remaining fields, compared as text: two rows that tie so far differ only when two
 *      processes claim one id (the node logs that as a conflict), and the order still has to be total.
 */
import { RingkvError } from '../errors.js';
import type { MemberStatus, NodeId } from '../member.js';

export type { MemberStatus } from '../member.js';

export interface MemberEntry {
  readonly id: NodeId;
  /** host:port of the internode listener */
  readonly address: string;
  /** host:port of the HTTP API, when known */
  readonly httpAddress?: string;
  readonly zone?: string;
  readonly weight: number;
  /** raised by the member on every start; 0 = a placeholder from configuration, never heard from */
  readonly incarnation: number;
  /** raised by the member every gossip interval and on every change of its own row */
  readonly heartbeat: number;
  readonly status: MemberStatus;
  /** epoch of the ring the member has installed (0 = none): its acknowledgement for ring readiness */
  readonly ringEpoch: number;
  /** fingerprint of that ring ('' = none) */
  readonly ringFingerprint: string;
  /**
   * the epoch of the pending ring whose inbound partition transfers this member has finished (0 =
   * none): the claimant flips ownership only when every receiving member reports it
   */
  readonly transfersDone: number;
}

/** Precedence of statuses at equal (incarnation, heartbeat); also the status code digests carry. */
export const STATUS_RANK: Readonly<Record<MemberStatus, number>> = Object.freeze({ up: 0, leaving: 1, suspect: 2, down: 3, left: 4 });
export const STATUS_BY_RANK: readonly MemberStatus[] = Object.freeze(['up', 'leaving', 'suspect', 'down', 'left']);

/** The part of a row a digest carries: enough to tell which of two rows is newer. */
export interface EntryVersion {
  readonly incarnation: number;
  readonly heartbeat: number;
  /** STATUS_RANK of the status */
  readonly rank: number;
}

export function versionOf(e: MemberEntry): EntryVersion {
  return { incarnation: e.incarnation, heartbeat: e.heartbeat, rank: STATUS_RANK[e.status] };
}

const LEFT_RANK = STATUS_RANK.left;

/** Orders versions by rules 1–4 above: negative when a is older than b, 0 when they tie. */
export function compareVersions(a: EntryVersion, b: EntryVersion): number {
  return compareVersionFields(a.incarnation, a.heartbeat, a.rank, b.incarnation, b.heartbeat, b.rank);
}

/** compareVersions on loose fields (digests carry them flat) */
export function compareVersionFields(incA: number, hbA: number, rankA: number, incB: number, hbB: number, rankB: number): number {
  if (incA !== incB) return incA < incB ? -1 : 1;
  const aLeft = rankA === LEFT_RANK ? 1 : 0;
  const bLeft = rankB === LEFT_RANK ? 1 : 0;
  if (aLeft !== bLeft) return aLeft - bLeft;
  if (hbA !== hbB) return hbA < hbB ? -1 : 1;
  return rankA - rankB;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The total order of rows of one member (rules 1–5). Rows of different ids are not comparable. */
export function compareEntries(a: MemberEntry, b: MemberEntry): number {
  const byVersion = compareVersions(versionOf(a), versionOf(b));
  if (byVersion !== 0) return byVersion;
  return (
    compareText(a.address, b.address) ||
    compareText(a.httpAddress ?? '', b.httpAddress ?? '') ||
    compareText(a.zone ?? '', b.zone ?? '') ||
    (a.weight === b.weight ? 0 : a.weight < b.weight ? -1 : 1) ||
    (a.ringEpoch === b.ringEpoch ? 0 : a.ringEpoch < b.ringEpoch ? -1 : 1) ||
    compareText(a.ringFingerprint, b.ringFingerprint) ||
    (a.transfersDone === b.transfersDone ? 0 : a.transfersDone < b.transfersDone ? -1 : 1) ||
    // both undefined vs '' compare equal above; this keeps the order total even for that pair
    (a.httpAddress === undefined ? 0 : 1) - (b.httpAddress === undefined ? 0 : 1) ||
    (a.zone === undefined ? 0 : 1) - (b.zone === undefined ? 0 : 1)
  );
}

/** The merge of two rows of the same member: the greater one. */
export function mergeEntries(a: MemberEntry, b: MemberEntry): MemberEntry {
  if (a.id !== b.id) throw new RingkvError('INTERNAL', `cannot merge rows of ${a.id} and ${b.id}`);
  return compareEntries(a, b) >= 0 ? a : b;
}

/** True when (incarnation, heartbeat) of b is past a's: the member itself has spoken since a. */
export function isNewerLife(a: EntryVersion, b: EntryVersion): boolean {
  return b.incarnation > a.incarnation || (b.incarnation === a.incarnation && b.heartbeat > a.heartbeat);
}

/** Statuses of a member believed to be running (gossip targets, probe helpers). */
export function isLive(status: MemberStatus): boolean {
  return status === 'up' || status === 'leaving' || status === 'suspect';
}

/** Limits on rows from the wire. */
export const MAX_ID_CHARS = 64;
export const MAX_ADDRESS_CHARS = 255;
export const MAX_ZONE_CHARS = 64;
export const MAX_FINGERPRINT_CHARS = 80;
/** heartbeats and incarnations are counters; past 2^53 they would stop being exact */
const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

function malformed(why: string): RingkvError {
  return new RingkvError('MALFORMED_REQUEST', `malformed member row: ${why}`);
}

function text(raw: Record<string, unknown>, field: string, max: number, required: true): string;
function text(raw: Record<string, unknown>, field: string, max: number, required: false): string | undefined;
function text(raw: Record<string, unknown>, field: string, max: number, required: boolean): string | undefined {
  const v = raw[field];
  if (v === undefined || v === null) {
    if (required) throw malformed(`${field} missing`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length > max || (required && v.length === 0)) throw malformed(`${field} must be a string of at most ${max} characters`);
  return v;
}

export function isCounter(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_COUNTER;
}

function counter(raw: Record<string, unknown>, field: string): number {
  const v = raw[field];
  if (!isCounter(v)) throw malformed(`${field} must be an integer from 0 to 2^53-1`);
  return v;
}

export function isValidNodeId(v: unknown): v is NodeId {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_CHARS;
}

/** Validates a row from a peer (or the store) and returns a clean copy; throws MALFORMED_REQUEST. */
export function parseMemberEntry(raw: unknown): MemberEntry {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw malformed('not an object');
  const r = raw as Record<string, unknown>;
  if (!isValidNodeId(r.id)) throw malformed(`id must be a string of 1 to ${MAX_ID_CHARS} characters`);
  const status = r.status;
  if (typeof status !== 'string' || !(status in STATUS_RANK)) throw malformed(`status must be one of ${STATUS_BY_RANK.join(', ')}`);
  const weight = r.weight;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0 || weight > 1e6) throw malformed('weight must be a number in (0, 1e6]');
  const entry: MemberEntry = {
    id: r.id,
    address: text(r, 'address', MAX_ADDRESS_CHARS, true),
    weight,
    incarnation: counter(r, 'incarnation'),
    heartbeat: counter(r, 'heartbeat'),
    status: status as MemberStatus,
    ringEpoch: counter(r, 'ringEpoch'),
    ringFingerprint: text(r, 'ringFingerprint', MAX_FINGERPRINT_CHARS, false) ?? '',
    transfersDone: r.transfersDone === undefined ? 0 : counter(r, 'transfersDone'),
  };
  const httpAddress = text(r, 'httpAddress', MAX_ADDRESS_CHARS, false);
  const zone = text(r, 'zone', MAX_ZONE_CHARS, false);
  return withOptional(entry, httpAddress, zone);
}

/** A row with the optional fields set only when present (so equal rows deep-equal). */
export function withOptional(entry: MemberEntry, httpAddress: string | undefined, zone: string | undefined): MemberEntry {
  const out: { -readonly [K in keyof MemberEntry]: MemberEntry[K] } = {
    id: entry.id,
    address: entry.address,
    weight: entry.weight,
    incarnation: entry.incarnation,
    heartbeat: entry.heartbeat,
    status: entry.status,
    ringEpoch: entry.ringEpoch,
    ringFingerprint: entry.ringFingerprint,
    transfersDone: entry.transfersDone,
  };
  if (httpAddress !== undefined) out.httpAddress = httpAddress;
  if (zone !== undefined) out.zone = zone;
  return Object.freeze(out);
}
