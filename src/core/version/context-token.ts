import { RingkvError } from '../errors.js';
import { murmur3x86_128 } from '../hash.js';
import type { PnCounter } from './pn-counter.js';
import { vvFromPairs, type Dot, type VersionVector } from './version-vector.js';

/**
 * What a client's write says it has seen: a version vector (everything a read saw), single dots (the
 * version a PUT just wrote, without claiming the concurrent versions around it; dots a read saw outside
 * the vector) and, when the read found a counter, the PN totals it observed — a delete or overwrite
 * removes exactly those increments (observed-remove).
 */
export interface CausalContext {
  vv: VersionVector;
  dots: Dot[];
  counter?: PnCounter;
}

export const EMPTY_CONTEXT: CausalContext = { vv: [], dots: [] };

/**
 * The causal context handed to clients: an opaque, versioned, base64url token, tied to its key.
 * Layout (format 2): [0x02][u32 BE hash of the key]
 *   [varint vvEntries]([varint actorLen][actor utf8][varint counter])*
 *   [varint dots]([varint actorLen][actor utf8][varint counter])*
 *   [varint counterEntries]([varint actorLen][actor utf8][decimal inc as varint-length string][decimal dec …])*
 * The key hash lets a node refuse a token read from another key (whose larger counters would
 * otherwise silently supersede this key's versions).
 */
const FORMAT_VERSION = 2;
const MAX_ENTRIES = 4096;
const MAX_NODE_ID_BYTES = 255;
const MAX_DECIMAL_DIGITS = 40;
const MAX_TOKEN_CHARS = 256 * 1024;

const hashScratch = new Uint32Array(4);

/** 32 bits of the key's MurmurHash3: enough to catch a token sent with the wrong key */
export function contextKeyHash(key: Uint8Array): number {
  return murmur3x86_128(key, 0x6b6579, hashScratch)[0] >>> 0;
}

function writeVarint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

const utf8 = new TextEncoder();

/** actor ids are almost always ASCII: their char codes are their bytes, no encoder round trip */
function writeString(out: number[], text: string): void {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      const bytes = utf8.encode(text);
      writeVarint(out, bytes.length);
      for (const b of bytes) out.push(b);
      return;
    }
  }
  writeVarint(out, text.length);
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i));
}

function writeEntries(out: number[], list: ReadonlyArray<{ node: string; counter: number }>): void {
  writeVarint(out, list.length);
  for (const e of list) {
    writeString(out, e.node);
    writeVarint(out, e.counter);
  }
}

export function encodeContext(ctx: CausalContext, key: Uint8Array): string {
  const counter = ctx.counter ?? [];
  if (ctx.vv.length === 0 && ctx.dots.length === 0 && counter.length === 0) return '';
  const out: number[] = [FORMAT_VERSION];
  const h = contextKeyHash(key);
  out.push((h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
  writeEntries(out, ctx.vv);
  writeEntries(out, ctx.dots);
  writeVarint(out, counter.length);
  for (const e of counter) {
    writeString(out, e.node);
    writeString(out, e.inc);
    writeString(out, e.dec);
  }
  return Buffer.from(out).toString('base64url');
}

/**
 * Parses a token sent with `key`; anything malformed, or a token of another key, is a
 * MALFORMED_CONTEXT error (HTTP 400) naming what is wrong, never a crash.
 */
export function decodeContext(token: string | undefined, key: Uint8Array): CausalContext {
  if (token === undefined || token === '') return EMPTY_CONTEXT;
  const bad = (why: string): RingkvError => new RingkvError('MALFORMED_CONTEXT', `malformed context token: ${why}`);
  if (token.length > MAX_TOKEN_CHARS) throw bad(`longer than ${MAX_TOKEN_CHARS} characters`);
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw bad('not base64url');
  const bytes = Buffer.from(token, 'base64url');
  let pos = 0;
  const readVarint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (pos >= bytes.length) throw bad('truncated');
      const b = bytes[pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw bad('number out of range');
        return result;
      }
      scale *= 128;
    }
    throw bad('varint too long');
  };
  const version = bytes[pos++];
  if (version === 1) throw bad('format 1 tokens (before ringkv tied tokens to keys) are no longer accepted: read the key again');
  if (version !== FORMAT_VERSION) throw bad(`unknown format version ${version}`);
  if (pos + 4 > bytes.length) throw bad('truncated');
  const tokenHash = ((bytes[pos] << 24) | (bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3]) >>> 0;
  pos += 4;
  if (tokenHash !== contextKeyHash(key)) throw bad('the token belongs to another key (key hash mismatch): send the context read from this key');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const readString = (maxBytes: number, what: string): string => {
    const len = readVarint();
    if (len === 0 || len > maxBytes || pos + len > bytes.length) throw bad(`bad ${what} length`);
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(pos, pos + len));
    } catch {
      throw bad(`${what} is not UTF-8`);
    }
    pos += len;
    return text;
  };
  const readCount = (what: string): number => {
    const count = readVarint();
    if (count > MAX_ENTRIES) throw bad(`${what} count ${count} out of range`);
    return count;
  };
  const readList = (what: string): Array<[string, number]> => {
    const count = readCount(what);
    const pairs: Array<[string, number]> = [];
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const node = readString(MAX_NODE_ID_BYTES, 'actor id');
      const counter = readVarint();
      if (counter < 1) throw bad('counter must be positive');
      if (what === 'vv' && seen.has(node)) throw bad(`actor ${node} appears twice`);
      seen.add(node);
      pairs.push([node, counter]);
    }
    return pairs;
  };
  const vvPairs = readList('vv');
  const dotPairs = readList('dot');
  const counterCount = readCount('counter');
  const counter: PnCounter = [];
  let prevActor = '';
  for (let i = 0; i < counterCount; i++) {
    const node = readString(MAX_NODE_ID_BYTES, 'actor id');
    const inc = readString(MAX_DECIMAL_DIGITS, 'counter total');
    const dec = readString(MAX_DECIMAL_DIGITS, 'counter total');
    if (!/^\d+$/.test(inc) || !/^\d+$/.test(dec)) throw bad('counter totals must be decimal');
    if (node <= prevActor) throw bad('counter entries not sorted by actor');
    prevActor = node;
    counter.push({ node, inc, dec });
  }
  if (vvPairs.length === 0 && dotPairs.length === 0 && counter.length === 0) throw bad('empty');
  if (pos !== bytes.length) throw bad('trailing bytes');
  const ctx: CausalContext = { vv: vvFromPairs(vvPairs), dots: dotPairs.map(([node, counter]) => ({ node, counter })) };
  if (counter.length > 0) ctx.counter = counter;
  return ctx;
}
