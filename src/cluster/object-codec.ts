import { Packr } from 'msgpackr';
import { RingkvError } from '../core/errors.js';
import { validateObject } from '../core/version/validate-object.js';
import type { VersionedObject } from '../core/version/versioned-object.js';

/**
 * How a replica's object is laid out in the engine and on the wire: msgpack, validated on the way
 * back in. Internode messages carry objects in this encoding, so an object is encoded once where it
 * is made and a replica can store or return the bytes it was given without re-encoding them.
 */
const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeObject(obj: VersionedObject): Uint8Array {
  return packr.pack(obj);
}

export function decodeObject(bytes: Uint8Array, where: string): VersionedObject {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch (e) {
    throw new RingkvError('MALFORMED_REQUEST', `malformed object from ${where}: undecodable msgpack (${String(e instanceof Error ? e.message : e).slice(0, 200)})`);
  }
  return validateObject(decoded, where);
}

/** An object paired with its encoding, for a caller that stores or sends both. */
export interface EncodedObject {
  object: VersionedObject;
  bytes: Uint8Array;
}
