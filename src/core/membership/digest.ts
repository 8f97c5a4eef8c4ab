/**
 * Scuttlebutt digests: one (id, incarnation, heartbeat, status rank, content hash) tuple per known
 * member — enough for a peer to tell, row by row, who holds the newer version, so that only newer rows
 * travel. The content hash covers the fields the version does not (address, zone, ...): a member
 * changes them only with a new heartbeat, so two rows of one version differ only when two processes
 * claim one id — then both rows travel both ways and every table still ends with the same (greater)
 * one. A 1000-member digest is about 25 KB of msgpack.
 */
import { RingkvError } from '../errors.js';
import type { NodeId } from '../member.js';
import { STATUS_BY_RANK, isCounter, isValidNodeId, type MemberEntry } from './member-entry.js';

/**
 * Flat: [id, incarnation, heartbeat, status rank, content hash, id, incarnation, …] — one array per
 * digest rather than one per member, which a 1000-member cluster would build, copy and collect a
 * thousand times per exchange.
 */
export type Digest = readonly (NodeId | number)[];

/** fields per member in a digest */
export const DIGEST_STRIDE = 5;

/** the most rows a digest (or a delta) may carry; a peer sending more is refused */
export const MAX_DIGEST_ROWS = 4096;

function malformed(why: string): RingkvError {
  return new RingkvError('MALFORMED_REQUEST', `malformed digest: ${why}`);
}

/** Validates a digest from a peer; throws MALFORMED_REQUEST (too long, bad field, repeated id). */
export function parseDigest(raw: unknown): Digest {
  if (!Array.isArray(raw)) throw malformed('not an array');
  if (raw.length % DIGEST_STRIDE !== 0) throw malformed(`length ${raw.length} is not a multiple of ${DIGEST_STRIDE} (id, incarnation, heartbeat, rank, content hash)`);
  if (raw.length / DIGEST_STRIDE > MAX_DIGEST_ROWS) throw malformed(`${raw.length / DIGEST_STRIDE} rows, the limit is ${MAX_DIGEST_ROWS}`);
  const seen = new Set<NodeId>();
  for (let i = 0; i < raw.length; i += DIGEST_STRIDE) {
    const row = i / DIGEST_STRIDE;
    const id: unknown = raw[i];
    if (!isValidNodeId(id)) throw malformed(`row ${row}: bad id`);
    if (!isCounter(raw[i + 1]) || !isCounter(raw[i + 2])) throw malformed(`row ${row}: incarnation and heartbeat must be integers >= 0`);
    const rank: unknown = raw[i + 3];
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank >= STATUS_BY_RANK.length) throw malformed(`row ${row}: bad status rank`);
    const hash: unknown = raw[i + 4];
    if (typeof hash !== 'number' || !Number.isInteger(hash) || hash < 0 || hash > 0xffffffff) throw malformed(`row ${row}: content hash must be a 32-bit unsigned integer`);
    if (seen.has(id)) throw malformed(`id ${id} appears twice`);
    seen.add(id);
  }
  return raw as Digest;
}

/** true when a and b differ at most in their version (incarnation, heartbeat, status) */
export function sameContent(a: MemberEntry, b: MemberEntry): boolean {
  return (
    a.address === b.address &&
    a.httpAddress === b.httpAddress &&
    a.zone === b.zone &&
    a.weight === b.weight &&
    a.ringEpoch === b.ringEpoch &&
    a.ringFingerprint === b.ringFingerprint &&
    a.transfersDone === b.transfersDone
  );
}

/** FNV-1a over the fields a row's version does not cover. */
export function contentHash(e: MemberEntry): number {
  const text = `${e.address}\u0000${e.httpAddress ?? '\u0001'}\u0000${e.zone ?? '\u0001'}\u0000${e.weight}\u0000${e.ringEpoch}\u0000${e.ringFingerprint}\u0000${e.transfersDone}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
