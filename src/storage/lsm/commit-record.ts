import { readVarint, varintEnd, varintSize, writeVarint } from './varint.js';

/**
 * The engine's commit-log record (the commit log adds its own framing and checksum around it):
 *   u8 op ‖ u32 partition ‖ varint keyLength ‖ key ‖ (put: value | delete: f64 tsMs)
 */
export const OP_PUT = 1;
export const OP_DELETE = 2;

export function encodePutRecord(partition: number, key: Uint8Array, value: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + varintSize(key.length) + key.length + value.length);
  out[0] = OP_PUT;
  out.writeUInt32BE(partition, 1);
  let p = writeVarint(out, 5, key.length);
  out.set(key, p);
  p += key.length;
  out.set(value, p);
  return out;
}

export function encodeDeleteRecord(partition: number, key: Uint8Array, tsMs: number): Buffer {
  const out = Buffer.allocUnsafe(5 + varintSize(key.length) + key.length + 8);
  out[0] = OP_DELETE;
  out.writeUInt32BE(partition, 1);
  let p = writeVarint(out, 5, key.length);
  out.set(key, p);
  p += key.length;
  out.writeDoubleLE(tsMs, p);
  return out;
}

export interface DecodedRecord {
  op: number;
  partition: number;
  key: Buffer;
  /** the value (put) — a view into the record */
  value: Buffer | null;
  tsMs: number;
}

export function decodeRecord(record: Uint8Array): DecodedRecord {
  const buf = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (buf.length < 6) throw new RangeError('commit-log record too short');
  const op = buf[0];
  const partition = buf.readUInt32BE(1);
  const keyLen = readVarint(buf, 5, buf.length);
  const keyStart = varintEnd;
  if (keyStart + keyLen > buf.length) throw new RangeError('commit-log record key runs past its end');
  const key = buf.subarray(keyStart, keyStart + keyLen);
  const rest = buf.subarray(keyStart + keyLen);
  if (op === OP_PUT) return { op, partition, key, value: rest, tsMs: 0 };
  if (op === OP_DELETE) {
    if (rest.length !== 8) throw new RangeError('delete record without a timestamp');
    return { op, partition, key, value: null, tsMs: rest.readDoubleLE(0) };
  }
  throw new RangeError(`unknown commit-log op ${op}`);
}
