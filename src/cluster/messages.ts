import { RingkvError } from '../core/errors.js';
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
  /** the object written, encoded */
  object: Uint8Array;
}

/** Merge this object into your copy (replication and read repair). */
export interface ReplicateMsg extends Message {
  type: 'replicate';
  partition: number;
  key: Uint8Array;
  /** the object to merge, encoded */
  object: Uint8Array;
}

export interface ReadMsg extends Message {
  type: 'read';
  partition: number;
  key: Uint8Array;
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

export function requireInt(msg: Message, field: string, min: number, max: number): number {
  const v = msg[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`${field} out of range`);
  return v;
}
