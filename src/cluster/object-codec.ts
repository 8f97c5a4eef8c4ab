import { Packr } from 'msgpackr';
import { validateObject } from '../core/version/validate-object.js';
import type { VersionedObject } from '../core/version/versioned-object.js';

/** How a replica's object is laid out in the engine: msgpack, validated on the way back in. */
const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeObject(obj: VersionedObject): Uint8Array {
  return packr.pack(obj);
}

export function decodeObject(bytes: Uint8Array, where: string): VersionedObject {
  return validateObject(packr.unpack(bytes), where);
}
