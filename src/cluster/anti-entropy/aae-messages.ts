import { bad, requireKey, requirePartition } from '../messages.js';
import type { Message } from '../runtime.js';

/**
 * Anti-entropy messages (initiator → responder), each validated before use:
 * - aae_branches: the initiator's branch hashes; the answer names the branches that differ and carries
 *   the responder's leaf hashes for them (or says its tree is not ready yet);
 * - aae_keys: the keys (and version clocks, values left out) the responder holds in some segments,
 *   a page at a time in key order;
 * - aae_fetch: the responder's objects for some keys (a repair pulling what the initiator lacks);
 * - aae_push: objects for the responder to merge (a repair pushing what the responder lacks).
 */
export interface AaeBranchesMsg extends Message {
  type: 'aae_branches';
  partition: number;
  leafCount: number;
  fanout: number;
  branches: Uint8Array;
}

export interface AaeBranchesReply extends Message {
  type: 'aae_branches_ok';
  ready: boolean;
  branchIds?: number[];
  leaves?: Uint8Array;
}

export interface AaeKeysMsg extends Message {
  type: 'aae_keys';
  partition: number;
  segments: number[];
  /** continue after this key (exclusive) */
  after?: Uint8Array;
  limit: number;
}

export interface AaeKeysReply extends Message {
  type: 'aae_keys_ok';
  /** keys with their version clocks (encoded objects without values) */
  entries: Array<{ key: Uint8Array; clock: Uint8Array }>;
  /** set when more entries follow: the last key of this page */
  next?: Uint8Array;
}

export interface AaeFetchMsg extends Message {
  type: 'aae_fetch';
  partition: number;
  keys: Uint8Array[];
}

export interface AaeFetchReply extends Message {
  type: 'aae_fetch_ok';
  /** per key asked, its encoded object or null */
  objects: Array<Uint8Array | null>;
}

export interface AaePushMsg extends Message {
  type: 'aae_push';
  partition: number;
  entries: Array<{ key: Uint8Array; object: Uint8Array }>;
}

export const MAX_KEYS_PER_PAGE = 10_000;
export const MAX_KEYS_PER_BATCH = 10_000;

export function requireBytes(msg: Message, field: string, maxBytes: number): Uint8Array {
  const v = msg[field];
  if (!(v instanceof Uint8Array) || v.length > maxBytes) throw bad(`${field} missing or too large`);
  return v;
}

export function requireIntList(value: unknown, what: string, max: number, maxLength: number): number[] {
  if (!Array.isArray(value) || value.length > maxLength) throw bad(`${what} missing or too long`);
  for (const x of value) if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= max) throw bad(`${what} out of range`);
  return value as number[];
}

export function requireKeyList(value: unknown, maxKeyBytes: number): Uint8Array[] {
  if (!Array.isArray(value) || value.length > MAX_KEYS_PER_BATCH) throw bad('keys missing or too many');
  return value.map((key) => requireKey({ type: 'key', key }, maxKeyBytes));
}

export function requirePartitionOf(msg: Message, partitions: number): number {
  return requirePartition(msg, partitions);
}
