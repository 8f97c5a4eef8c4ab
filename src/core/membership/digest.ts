/**
 * Scuttlebutt digests: one (id, incarnation, heartbeat, status rank) tuple per known member — enough
 * for a peer to tell, row by row, who holds the newer version, so that only newer rows travel.
 * Tuples keep the message small: a 1000-member digest is about 20 KB of msgpack.
 */
import { RingkvError } from '../errors.js';
import type { NodeId } from '../member.js';
import { STATUS_BY_RANK, isCounter, isValidNodeId, type EntryVersion } from './member-entry.js';

/** [id, incarnation, heartbeat, status rank] */
export type DigestTuple = readonly [id: NodeId, incarnation: number, heartbeat: number, rank: number];
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
    if (!Array.isArray(t) || t.length !== 4) throw malformed(`row ${i} is not [id, incarnation, heartbeat, rank]`);
    const [id, incarnation, heartbeat, rank] = t as unknown[];
    if (!isValidNodeId(id)) throw malformed(`row ${i}: bad id`);
    if (!isCounter(incarnation) || !isCounter(heartbeat)) throw malformed(`row ${i}: incarnation and heartbeat must be integers >= 0`);
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank >= STATUS_BY_RANK.length) throw malformed(`row ${i}: bad status rank`);
    if (seen.has(id)) throw malformed(`id ${id} appears twice`);
    seen.add(id);
    out.push([id, incarnation, heartbeat, rank]);
  }
  return out;
}
