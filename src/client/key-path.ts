/**
 * Percent-encodes a key (arbitrary bytes) for the `/kv/{key}` path. Unreserved characters
 * (RFC 3986: A-Z a-z 0-9 - . _ ~) stay as they are so common keys remain readable in logs.
 */
const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
const ESCAPES = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);

export function encodeKeyForPath(key: string | Uint8Array): string {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  let out = '';
  for (const b of bytes) out += UNRESERVED[b] === 1 ? String.fromCharCode(b) : ESCAPES[b];
  return out;
}
