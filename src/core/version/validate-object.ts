import { RingkvError } from '../errors.js';
import type { VersionedObject } from './versioned-object.js';

/**
 * Checks that something a peer or the disk handed us really is a VersionedObject, so a malformed
 * message is rejected with a clear error instead of corrupting state or crashing the node.
 */
export function validateObject(x: unknown, where: string): VersionedObject {
  const bad = (why: string): RingkvError => new RingkvError('MALFORMED_REQUEST', `malformed object from ${where}: ${why}`);
  if (typeof x !== 'object' || x === null) throw bad('not an object');
  const o = x as Record<string, unknown>;
  if (!Array.isArray(o.vv) || !Array.isArray(o.siblings)) throw bad('missing vv or siblings');
  let prev = '';
  for (const e of o.vv as unknown[]) {
    const v = e as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || typeof v.node !== 'string' || !isCount(v.counter)) throw bad('bad vv entry');
    if (v.node <= prev) throw bad('vv not sorted by actor');
    prev = v.node;
  }
  for (const s of o.siblings as unknown[]) {
    const sib = s as Record<string, any>;
    if (typeof sib !== 'object' || sib === null) throw bad('bad sibling');
    if (!isDot(sib.dot)) throw bad('bad dot');
    if (typeof sib.hlc?.wallMs !== 'number' || typeof sib.hlc?.logical !== 'number') throw bad('bad hlc');
    const v = sib.value;
    if (v?.kind === 'bytes') {
      if (!(v.bytes instanceof Uint8Array)) throw bad('bytes sibling without bytes');
    } else if (v?.kind === 'counter') {
      if (!isPn(v.counter)) throw bad('bad counter');
    } else if (v?.kind !== 'tombstone') throw bad('unknown sibling kind');
  }
  if (o.seen !== undefined && (!Array.isArray(o.seen) || !o.seen.every(isDot))) throw bad('bad seen dots');
  if (o.counterFloor !== undefined && !isPn(o.counterFloor)) throw bad('bad counter floor');
  if (o.deletedAtMs !== undefined && (typeof o.deletedAtMs !== 'number' || !Number.isFinite(o.deletedAtMs))) throw bad('bad deletion time');
  return o as unknown as VersionedObject;
}

function isCount(n: unknown): boolean {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;
}

function isDot(d: unknown): boolean {
  const dot = d as { node?: unknown; counter?: unknown } | null;
  return typeof dot === 'object' && dot !== null && typeof dot.node === 'string' && isCount(dot.counter);
}

function isPn(c: unknown): boolean {
  return Array.isArray(c) && c.every((e: any) => typeof e?.node === 'string' && /^\d+$/.test(e.inc) && /^\d+$/.test(e.dec));
}
