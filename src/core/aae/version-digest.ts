import { murmur3x86_128 } from '../hash.js';
import type { VersionedObject } from '../version/versioned-object.js';

/**
 * What anti-entropy compares: a 64-bit digest of an object's version state — its vector, seen dots,
 * sibling dots and counter floor, not its values (one dot names one value: actors are never reused).
 * Two replicas hold the same version of a key exactly when their digests agree (up to hash collisions).
 */
const scratch = new Uint32Array(4);
const encoder = new TextEncoder();

export function versionDigestText(obj: VersionedObject): string {
  let s = 'v';
  for (const e of obj.vv) s += `|${e.node}:${e.counter}`;
  s += '#s';
  for (const d of obj.seen ?? []) s += `|${d.node}:${d.counter}`;
  s += '#d';
  for (const x of obj.siblings) s += `|${x.dot.node}:${x.dot.counter}`;
  s += '#f';
  for (const f of obj.counterFloor ?? []) s += `|${f.node}:${f.inc}:${f.dec}`;
  if (obj.deletedAtMs !== undefined) s += `#x${obj.deletedAtMs}`;
  return s;
}

/**
 * The hash a key contributes to its tictac segment: hash(key, version digest), as [hi, lo]. Absent
 * object (the key is not stored here) contributes nothing.
 */
export function keyEntryHash(key: Uint8Array, obj: VersionedObject): [number, number] {
  const digest = encoder.encode(versionDigestText(obj));
  const buf = new Uint8Array(key.length + 1 + digest.length);
  buf.set(key, 0);
  buf[key.length] = 0;
  buf.set(digest, key.length + 1);
  murmur3x86_128(buf, 0x61616531, scratch);
  return [scratch[0] >>> 0, scratch[1] >>> 0];
}

/** which leaf segment a key belongs to: bits of its hash apart from those that pick the partition */
export function segmentOf(key: Uint8Array, leafCount: number): number {
  murmur3x86_128(key, 0, scratch);
  return (scratch[1] >>> 0) % leafCount;
}
