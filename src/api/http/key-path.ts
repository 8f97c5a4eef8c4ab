/**
 * Keys are arbitrary bytes, carried percent-encoded in the URL path (`/kv/{key}`). Decoding goes
 * straight to bytes rather than through decodeURIComponent, which would reject percent-encoded
 * bytes that are not valid UTF-8 (a perfectly good binary key).
 */

/** Where the key starts in the path of a `/kv/{key}` request. */
export const KV_PATH_PREFIX = '/kv/';

const HEX: Record<string, number> = {};
for (let i = 0; i < 16; i++) {
  HEX[i.toString(16)] = i;
  HEX[i.toString(16).toUpperCase()] = i;
}

/**
 * Decodes a percent-encoded path segment to bytes. Characters outside %XX escapes are taken as
 * UTF-8. Returns undefined for malformed escapes (a `%` not followed by two hex digits).
 */
export function decodePercentEncodedBytes(encoded: string): Uint8Array | undefined {
  if (!encoded.includes('%')) return Buffer.from(encoded, 'utf8');
  const out: number[] = [];
  let plainStart = 0;
  for (let i = 0; i < encoded.length; i++) {
    if (encoded.charCodeAt(i) !== 0x25 /* % */) continue;
    if (i > plainStart) for (const b of Buffer.from(encoded.slice(plainStart, i), 'utf8')) out.push(b);
    const hi = HEX[encoded[i + 1] ?? ''];
    const lo = HEX[encoded[i + 2] ?? ''];
    if (hi === undefined || lo === undefined) return undefined;
    out.push(hi * 16 + lo);
    i += 2;
    plainStart = i + 1;
  }
  if (plainStart < encoded.length) for (const b of Buffer.from(encoded.slice(plainStart), 'utf8')) out.push(b);
  return Uint8Array.from(out);
}

/**
 * The raw (still encoded) key of a request URL such as `/kv/a%2Fb?r=2`, or undefined when the URL
 * is not under /kv/.
 */
export function rawKeyFromUrl(url: string): string | undefined {
  if (!url.startsWith(KV_PATH_PREFIX)) return undefined;
  const q = url.indexOf('?', KV_PATH_PREFIX.length);
  return q < 0 ? url.slice(KV_PATH_PREFIX.length) : url.slice(KV_PATH_PREFIX.length, q);
}
