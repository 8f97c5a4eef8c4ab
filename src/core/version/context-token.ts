import { RingkvError } from '../errors.js';
import { vvFromPairs, type Dot, type VersionVector } from './version-vector.js';

/**
 * What a client's write says it has seen: a version vector (everything a read saw) plus single dots
 * (the version a PUT just wrote, without claiming the concurrent versions around it).
 */
export interface CausalContext {
  vv: VersionVector;
  dots: Dot[];
}

export const EMPTY_CONTEXT: CausalContext = { vv: [], dots: [] };

/**
 * The causal context handed to clients: an opaque, versioned, base64url token.
 * Layout (format 1): [0x01][varint vvEntries]([varint nodeLen][node utf8][varint counter])*
 *                    [varint dots]([varint nodeLen][node utf8][varint counter])*.
 * Entry timestamps are not sent: they only matter for pruning on the replica.
 */
const FORMAT_VERSION = 1;
const MAX_ENTRIES = 4096;
const MAX_NODE_ID_BYTES = 255;
const MAX_TOKEN_CHARS = 256 * 1024;

function writeVarint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

const utf8 = new TextEncoder();

/** node ids are almost always ASCII: their char codes are their bytes, no encoder round trip */
function writeNodeId(out: number[], node: string): void {
  for (let i = 0; i < node.length; i++) {
    if (node.charCodeAt(i) > 0x7f) {
      const bytes = utf8.encode(node);
      writeVarint(out, bytes.length);
      for (const b of bytes) out.push(b);
      return;
    }
  }
  writeVarint(out, node.length);
  for (let i = 0; i < node.length; i++) out.push(node.charCodeAt(i));
}

function writeEntries(out: number[], list: ReadonlyArray<{ node: string; counter: number }>): void {
  writeVarint(out, list.length);
  for (const e of list) {
    writeNodeId(out, e.node);
    writeVarint(out, e.counter);
  }
}

export function encodeContext(ctx: CausalContext): string {
  if (ctx.vv.length === 0 && ctx.dots.length === 0) return '';
  const out: number[] = [FORMAT_VERSION];
  writeEntries(out, ctx.vv);
  writeEntries(out, ctx.dots);
  return Buffer.from(out).toString('base64url');
}

/** Parses a token; anything malformed is a MALFORMED_CONTEXT error (HTTP 400), never a crash. */
export function decodeContext(token: string | undefined): CausalContext {
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
  if (bytes[pos++] !== FORMAT_VERSION) throw bad(`unknown format version ${bytes[0]}`);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const readList = (what: string): Array<[string, number]> => {
    const count = readVarint();
    if (count > MAX_ENTRIES) throw bad(`${what} count ${count} out of range`);
    const pairs: Array<[string, number]> = [];
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const len = readVarint();
      if (len === 0 || len > MAX_NODE_ID_BYTES || pos + len > bytes.length) throw bad('bad node id length');
      let node: string;
      try {
        node = decoder.decode(bytes.subarray(pos, pos + len));
      } catch {
        throw bad('node id is not UTF-8');
      }
      pos += len;
      const counter = readVarint();
      if (counter < 1) throw bad('counter must be positive');
      if (what === 'vv' && seen.has(node)) throw bad(`node ${node} appears twice`);
      seen.add(node);
      pairs.push([node, counter]);
    }
    return pairs;
  };
  const vvPairs = readList('vv');
  const dotPairs = readList('dot');
  if (vvPairs.length === 0 && dotPairs.length === 0) throw bad('empty');
  if (pos !== bytes.length) throw bad('trailing bytes');
  return { vv: vvFromPairs(vvPairs, 0), dots: dotPairs.map(([node, counter]) => ({ node, counter })) };
}
