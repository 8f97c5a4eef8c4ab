import { readVarint, varintEnd, varintSize, writeVarint } from './varint.js';

/**
 * The engine's commit-log record: a batch of writes (the commit log adds framing and a checksum).
 *   record = u8 RECORD_BATCH ‖ op…
 *   op     = u8 OP_PUT ‖ u32 partition ‖ varint keyLength ‖ key ‖ varint valueLength ‖ value
 *          | u8 OP_DELETE ‖ u32 partition ‖ varint keyLength ‖ key ‖ f64 tsMs
 *
 * Every write issued in one tick of the event loop joins one batch: one record, one commit-log
 * append and one promise for all of them, instead of one of each per write. The values stay in the
 * batch buffer and the memtable keeps views of them, so a put copies its value exactly once.
 */
export const RECORD_BATCH = 0xb1;
export const OP_PUT = 1;
export const OP_DELETE = 2;

/** A batch is sealed at about this size (a commit-log record is limited to 64 MiB). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export class WriteBatch {
  buf: Buffer;
  used = 1;
  count = 0;
  readonly keys: string[] = [];
  /** per op: value offset in buf (puts) or -1 (deletes) */
  readonly valueStarts: number[] = [];
  readonly valueLengths: number[] = [];
  readonly tsMs: number[] = [];
  readonly seqs: number[] = [];
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  sent = false;

  constructor(initialBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, 256));
    this.buf[0] = RECORD_BATCH;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + bytes));
    this.buf.copy(bigger, 0, 0, this.used);
    this.buf = bigger;
  }

  addPut(ik: string, partition: number, key: Uint8Array, value: Uint8Array, seq: number): void {
    this.reserve(5 + varintSize(key.length) + key.length + varintSize(value.length) + value.length);
    const b = this.buf;
    let p = this.used;
    b[p++] = OP_PUT;
    b.writeUInt32BE(partition, p);
    p = writeVarint(b, p + 4, key.length);
    b.set(key, p);
    p = writeVarint(b, p + key.length, value.length);
    b.set(value, p);
    this.keys.push(ik);
    this.valueStarts.push(p);
    this.valueLengths.push(value.length);
    this.tsMs.push(0);
    this.seqs.push(seq);
    this.used = p + value.length;
    this.count++;
  }

  addDelete(ik: string, partition: number, key: Uint8Array, tsMs: number, seq: number): void {
    this.reserve(5 + varintSize(key.length) + key.length + 8);
    const b = this.buf;
    let p = this.used;
    b[p++] = OP_DELETE;
    b.writeUInt32BE(partition, p);
    p = writeVarint(b, p + 4, key.length);
    b.set(key, p);
    b.writeDoubleLE(tsMs, p + key.length);
    this.keys.push(ik);
    this.valueStarts.push(-1);
    this.valueLengths.push(0);
    this.tsMs.push(tsMs);
    this.seqs.push(seq);
    this.used = p + key.length + 8;
    this.count++;
  }

  get record(): Buffer {
    return this.buf.subarray(0, this.used);
  }
}

/** Decodes a commit-log record, calling `onOp` per write; `value` is a view into `record`. */
export function decodeBatch(
  record: Uint8Array,
  onOp: (partition: number, key: Buffer, value: Buffer | null, tsMs: number) => void,
): void {
  const buf = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (buf.length < 1 || buf[0] !== RECORD_BATCH) throw new RangeError('not a write-batch record');
  let p = 1;
  while (p < buf.length) {
    const op = buf[p];
    if (p + 5 > buf.length) throw new RangeError('write-batch op cut short');
    const partition = buf.readUInt32BE(p + 1);
    const keyLen = readVarint(buf, p + 5, buf.length);
    p = varintEnd;
    if (p + keyLen > buf.length) throw new RangeError('write-batch key runs past the record');
    const key = buf.subarray(p, p + keyLen);
    p += keyLen;
    if (op === OP_PUT) {
      const valueLen = readVarint(buf, p, buf.length);
      p = varintEnd;
      if (p + valueLen > buf.length) throw new RangeError('write-batch value runs past the record');
      onOp(partition, key, buf.subarray(p, p + valueLen), 0);
      p += valueLen;
    } else if (op === OP_DELETE) {
      if (p + 8 > buf.length) throw new RangeError('write-batch delete without a timestamp');
      onOp(partition, key, null, buf.readDoubleLE(p));
      p += 8;
    } else throw new RangeError(`unknown write-batch op ${op}`);
  }
}
