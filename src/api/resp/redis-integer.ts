const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Parses a signed 64-bit integer the way Redis's string2ll does: optional '-', digits, no '+', no
 * spaces, no leading zeros (except "0" itself), within int64. Returns null for anything else.
 */
export function parseRedisInteger(bytes: Uint8Array): bigint | null {
  const n = bytes.length;
  if (n === 0 || n > 20) return null;
  let p = 0;
  if (bytes[0] === 0x2d) {
    p = 1;
    if (n === 1) return null;
  }
  if (bytes[p] === 0x30) return n === p + 1 && p === 0 ? 0n : null;
  for (let i = p; i < n; i++) {
    if (bytes[i] < 0x30 || bytes[i] > 0x39) return null;
  }
  const value = BigInt(Buffer.from(bytes.buffer, bytes.byteOffset, n).toString('latin1'));
  return value < INT64_MIN || value > INT64_MAX ? null : value;
}

export function isInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}
