/** LEB128 unsigned varints for lengths (< 2^32) inside blocks, records and indexes. */

export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Writes `value` at `offset`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, offset: number, value: number): number {
  let v = value >>> 0;
  while (v >= 0x80) {
    buf[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[offset++] = v;
  return offset;
}

/** Reusable result slot so decoding a varint allocates nothing: `varintEnd` is the offset after it. */
export let varintEnd = 0;

/** Reads a varint at `offset` (its end is left in `varintEnd`); throws on a varint running past `limit`. */
export function readVarint(buf: Uint8Array, offset: number, limit: number): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (offset >= limit || shift > 28) throw new RangeError('malformed varint');
    const byte = buf[offset++];
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
    shift += 7;
  }
  varintEnd = offset;
  return result >>> 0;
}
