/**
 * Percent-encodes a key (arbitrary bytes) for the `/kv/{key}` path. Unreserved characters
 * (RFC 3986: A-Z a-z 0-9 - . _ ~) stay as they are so common keys remain readable in logs, except in
 * the keys "." and "..": as path segments those are removed by URL normalisation (RFC 3986 5.2.4),
 * so they go as %2E and %2E%2E. (WHATWG URL parsers, fetch's included, normalise those too: send them
 * with a client that keeps the path as given, as RingkvClient does.)
 */
const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
const ESCAPES = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);

export function encodeKeyForPath(key: string | Uint8Array): string {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (bytes.length <= 2 && bytes.every((b) => b === 0x2e)) return ESCAPES[0x2e].repeat(bytes.length);
  let out = '';
  for (const b of bytes) out += UNRESERVED[b] === 1 ? String.fromCharCode(b) : ESCAPES[b];
  return out;
}
