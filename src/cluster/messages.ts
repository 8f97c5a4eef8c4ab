import { RingkvError } from '../core/errors.js';
import type { PnCounter } from '../core/version/pn-counter.js';
import type { Dot, VersionVector } from '../core/version/version-vector.js';
import type { SiblingValue } from '../core/version/versioned-object.js';
import type { Message } from './runtime.js';

/**
 * Internode messages. Every handler validates what it reads through these guards first: a peer can
 * send anything, and a malformed message must get an error reply, never a crash.
 *
 * Objects travel encoded (object-codec's msgpack, the engine's layout): the replica that mints a
 * version encodes it once for its engine and every peer, and a replica answers a read with the bytes
 * it stores. The receiver decodes and validates them.
 */

/** Ask a replica to coordinate a write: mint a dot, store, replicate to the other replicas. */
export interface CoordinateWriteMsg extends Message {
  type: 'coordinate_write';
  /**
   * unique per client write (the client's X-Ringkv-Write-Id, or one the coordinator made); a replica
   * that already knows it re-sends the version minted for it instead of minting again
   */
  writeId: string;
  key: Uint8Array;
  /** what to write: a value, a tombstone, or a counter delta (decimal string) */
  mutation: Mutation;
  /** the client's causal context: version vector, single dots, observed counter totals */
  context: VersionVector;
  dots: Dot[];
  counter?: PnCounter;
  w: number;
  /** strict quorum: acknowledgements that must come from primaries */
  pw?: number;
  timeoutMs: number;
  /** the sender's ring epoch (a refusal names it beside the receiver's) */
  epoch?: number;
  /** 1 for the first send, more for a retry of the same write id */
  attempt?: number;
  /** how long ago the first attempt was sent (ms, the sender's monotonic clock) */
  writeAgeMs?: number;
}

/** overwrite: supersede what the minting replica holds (a last-writer-wins SET), not a client context */
export type Mutation = { kind: 'set'; value: SiblingValue; overwrite?: boolean } | { kind: 'increment'; delta: string };

export interface CoordinateWriteReply extends Message {
  type: 'coordinate_write_ok';
  /** the merge of what the acknowledging replicas hold after the write, encoded */
  object: Uint8Array;
  /** the dot the write was minted under */
  dot: Dot;
}

/** Merge this object into your copy (replication and read repair). */
export interface ReplicateMsg extends Message {
  type: 'replicate';
  partition: number;
  key: Uint8Array;
  /** the object to merge, encoded */
  object: Uint8Array;
  /** when the object carries a freshly minted write: its id and dot, remembered for retries */
  writeId?: string;
  dot?: Dot;
  /** answer with the merged object (counters: the coordinator's answer must include what replicas hold) */
  wantObject?: boolean;
  /** sent to a stand-in: keep the object as a hint for this (down) primary, not as data of your own */
  hintFor?: string;
  /** the sender's ring epoch */
  epoch?: number;
}

/** a replicate's answer: `object` (encoded, after the merge) only when asked for */
export interface ReplicateReply extends Message {
  type: 'ack';
  object?: Uint8Array;
}

export interface ReadMsg extends Message {
  type: 'read';
  partition: number;
  key: Uint8Array;
  /** the sender's ring epoch */
  epoch?: number;
}

export interface ReadReply extends Message {
  type: 'read_ok';
  /** the replica's object as stored (encoded), null when it has none */
  object: Uint8Array | null;
}

export const ACK: Message = { type: 'ack' };

export function bad(why: string): RingkvError {
  return new RingkvError('MALFORMED_REQUEST', `malformed internode message: ${why}`);
}

export function requireKey(msg: Message, maxKeyBytes: number): Uint8Array {
  const key = msg.key;
  if (!(key instanceof Uint8Array) || key.length === 0 || key.length > maxKeyBytes) throw bad('key missing or out of range');
  return key;
}

/** the encoded object a message carries */
export function requireObjectBytes(msg: Message): Uint8Array {
  const object = msg.object;
  if (object instanceof Uint8Array && object.length > 0) return object;
  throw bad('object missing (expected encoded bytes)');
}

/** the encoded object a message carries, or null for none */
export function optionalObjectBytes(msg: Message): Uint8Array | null {
  return msg.object === null ? null : requireObjectBytes(msg);
}

export function requirePartition(msg: Message, partitions: number): number {
  const p = msg.partition;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= partitions) throw bad('partition out of range');
  return p;
}

export function requireDot(value: unknown, what: string): Dot {
  const d = value as { node?: unknown; counter?: unknown } | null;
  if (typeof d !== 'object' || d === null || typeof d.node !== 'string' || d.node.length === 0 || d.node.length > 255) throw bad(`${what}: bad dot`);
  if (typeof d.counter !== 'number' || !Number.isSafeInteger(d.counter) || d.counter < 1) throw bad(`${what}: bad dot counter`);
  return { node: d.node, counter: d.counter };
}

/** a write id: printable, 1..200 characters */
export function requireWriteId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw bad('writeId missing or out of range');
  return value;
}

export function requireInt(msg: Message, field: string, min: number, max: number): number {
  const v = msg[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`${field} out of range`);
  return v;
}
