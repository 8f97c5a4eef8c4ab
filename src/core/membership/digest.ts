/**
 * Scuttlebutt digests: one (id, incarnation, heartbeat, status rank, content hash) tuple per known
 * member — enough for a peer to tell, row by row, who holds the newer version, so that only newer rows
 * travel. The content hash covers the fields the version does not (address, zone, ...): a member
 * changes them only with a new heartbeat, so two rows of one version differ only when two processes
 * claim one id — then both rows travel both ways and every table still ends with the same (greater)
 * one. Tuples keep the message small: a 1000-member digest is about 25 KB of msgpack.
 */
import { RingkvError } from '../errors.js';
import type { NodeId } from '../member.js';
import { STATUS_BY_RANK, isCounter, isValidNodeId, type EntryVersion, type MemberEntry } from './member-entry.js';

/** [id, incarnation, heartbeat, status rank, content hash] */
export type DigestTuple = readonly [id: NodeId, incarnation: number, heartbeat: number, rank: number, contentHash: number];
export type Digest = readonly DigestTuple[];

/** the most rows a digest (or a delta) may carry; a peer sending more is refused */
export const MAX_DIGEST_ROWS = 4096;

export function digestVersion(t: DigestTuple): EntryVersion {
  return { incarnation: t[1], heartbeat: t[2], rank: t[3] };
}

function malformed(why: string): RingkvError {
  return new RingkvError('MALFORMED_REQUEST', `malformed digest: ${why}`);
}

/** Validates a digest from a peer; throws MALFORMED_REQUEST (too long, bad tuple, repeated id). */
export function parseDigest(raw: unknown): Digest {
  if (!Array.isArray(raw)) throw malformed('not an array');
  if (raw.length > MAX_DIGEST_ROWS) throw malformed(`${raw.length} rows, the limit is ${MAX_DIGEST_ROWS}`);
  const seen = new Set<NodeId>();
  const out: DigestTuple[] = [];
  for (let i = 0; i < raw.length; i++) {
    const t: unknown = raw[i];
    if (!Array.isArray(t) || t.length !== 5) throw malformed(`row ${i} is not [id, incarnation, heartbeat, rank, content hash]`);
    const [id, incarnation, heartbeat, rank, contentHash] = t as unknown[];
    if (!isValidNodeId(id)) throw malformed(`row ${i}: bad id`);
    if (!isCounter(incarnation) || !isCounter(heartbeat)) throw malformed(`row ${i}: incarnation and heartbeat must be integers >= 0`);
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank >= STATUS_BY_RANK.length) throw malformed(`row ${i}: bad status rank`);
    if (typeof contentHash !== 'number' || !Number.isInteger(contentHash) || contentHash < 0 || contentHash > 0xffffffff) {
      throw malformed(`row ${i}: content hash must be a 32-bit unsigned integer`);
    }
    if (seen.has(id)) throw malformed(`id ${id} appears twice`);
    seen.add(id);
    out.push([id, incarnation, heartbeat, rank, contentHash]);
  }
  return out;
}

const hashes = new WeakMap<MemberEntry, number>();

/** FNV-1a over the fields a row's version does not cover (cached per row object: rows are immutable). */
export function contentHash(e: MemberEntry): number {
  let h = hashes.get(e);
  if (h !== undefined) return h;
  const text = `${e.address}\u0000${e.httpAddress ?? '\u0001'}\u0000${e.zone ?? '\u0001'}\u0000${e.weight}\u0000${e.ringEpoch}\u0000${e.ringFingerprint}`;
  h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h >>>= 0;
  hashes.set(e, h);
  return h;
}
