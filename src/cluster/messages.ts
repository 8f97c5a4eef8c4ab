import { RingkvError } from '../core/errors.js';
import type { Dot, VersionVector } from '../core/version/version-vector.js';
import type { SiblingValue, VersionedObject } from '../core/version/versioned-object.js';
import type { Message } from './runtime.js';

/**
 * Internode messages. Every handler validates what it reads through these guards first: a peer can
 * send anything, and a malformed message must get an error reply, never a crash.
 */

/** Ask a replica to coordinate a write: mint a dot, store, replicate to the other replicas. */
export interface CoordinateWriteMsg extends Message {
  type: 'coordinate_write';
  /** unique per client write; a replica applies a write id once however often it arrives */
  writeId: string;
  key: Uint8Array;
  /** what to write: a value, a tombstone, or a counter delta (decimal string) */
  mutation: Mutation;
  /** the client's causal context: version vector and single dots */
  context: VersionVector;
  dots: Dot[];
  w: number;
  timeoutMs: number;
}

export type Mutation = { kind: 'set'; value: SiblingValue } | { kind: 'increment'; delta: string };

export interface CoordinateWriteReply extends Message {
  type: 'coordinate_write_ok';
  object: VersionedObject;
}

/** Merge this object into your copy (replication and read repair). */
export interface ReplicateMsg extends Message {
  type: 'replicate';
  partition: number;
  key: Uint8Array;
  object: VersionedObject;
}

export interface ReadMsg extends Message {
  type: 'read';
  partition: number;
  key: Uint8Array;
}

export interface ReadReply extends Message {
  type: 'read_ok';
  object: VersionedObject | null;
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

export function requirePartition(msg: Message, partitions: number): number {
  const p = msg.partition;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= partitions) throw bad('partition out of range');
  return p;
}

export function requireInt(msg: Message, field: string, min: number, max: number): number {
  const v = msg[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`${field} out of range`);
  return v;
}
