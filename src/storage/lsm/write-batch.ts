import type { Slab, SlabAllocator } from './slab.js';
import { readVarint, varintEnd, varintSize, writeVarint } from './varint.js';

/**
 * The engine's commit-log record: a batch of writes (the commit log adds framing and a checksum).
 *   record = u8 RECORD_BATCH ‖ op…
 *   op     = u8 OP_PUT ‖ u32 partition ‖ varint keyLength ‖ key ‖ varint valueLength ‖ value
 *          | u8 OP_DELETE ‖ u32 partition ‖ varint keyLength ‖ key ‖ f64 tsMs
 *
 * Every write issued in one tick of the event loop joins one batch: one record, one commit-log
 * append and one promise for all of them, instead of one of each per write. The batch is built in a
 * shared slab (slab.ts) and stays there: the memtable keeps each write as (slab, op offset), so a put
 * copies its value exactly once, and a flush in the table worker reads the ops from the same memory.
 */
export const RECORD_BATCH = 0xb1;
export const OP_PUT = 1;
export const OP_DELETE = 2;

/** A batch is sealed at about this size (a commit-log record is limited to 64 MiB). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export class WriteBatch {
  slab: Slab;
  /** where the record starts in slab.buf */
  start: number;
  /** bytes of the slab reserved for this batch from `start` */
  private reserved: number;
  /** record bytes so far (the RECORD_BATCH byte included) */
  used = 1;
  count = 0;
  readonly keys: string[] = [];
  /** per op: where it starts in slab.buf (moves with the batch if it moves to a bigger slab) */
  readonly ops: number[] = [];
  readonly seqs: number[] = [];
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  sent = false;

  constructor(private readonly slabs: SlabAllocator, initialBytes: number) {
    const want = Math.max(initialBytes, 256);
    this.slab = slabs.withRoom(want);
    this.start = this.slab.used;
    this.reserved = want;
    this.slab.used += want;
    this.slab.buf[this.start] = RECORD_BATCH;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Makes room for `bytes` more: in place when this batch holds the end of its slab, else in a new slab. */
  private ensure(bytes: number): void {
    const need = this.used + bytes;
    if (need <= this.reserved) return;
    const slab = this.slab;
    const want = Math.max(need, 2 * this.reserved);
    if (slab.used === this.start + this.reserved && this.start + want <= slab.buf.length) {
      slab.used = this.start + want;
      this.reserved = want;
      return;
    }
    const moved = this.slabs.withRoom(want);
    const at = moved.used;
    slab.buf.copy(moved.buf, at, this.start, this.start + this.used);
    moved.used += want;
    const shift = at - this.start;
    for (let i = 0; i < this.count; i++) this.ops[i] += shift;
    this.giveBack();
    this.slab = moved;
    this.start = at;
    this.reserved = want;
  }

  /** Returns the reserved bytes beyond `used` to the slab when nothing was carved after them. */
  private giveBack(): void {
    if (this.slab.used === this.start + this.reserved) this.slab.used = this.start + this.used;
  }

  addPut(ik: string, partition: number, key: Uint8Array, value: Uint8Array, seq: number): void {
    this.ensure(5 + varintSize(key.length) + key.length + varintSize(value.length) + value.length);
    const b = this.slab.buf;
    const op = this.start + this.used;
    let p = op;
    b[p++] = OP_PUT;
    b.writeUInt32BE(partition, p);
    p = writeVarint(b, p + 4, key.length);
    b.set(key, p);
    p = writeVarint(b, p + key.length, value.length);
    b.set(value, p);
    this.keys.push(ik);
    this.ops.push(op);
    this.seqs.push(seq);
    this.used = p + value.length - this.start;
    this.count++;
  }

  addDelete(ik: string, partition: number, key: Uint8Array, tsMs: number, seq: number): void {
    this.ensure(5 + varintSize(key.length) + key.length + 8);
    const b = this.slab.buf;
    const op = this.start + this.used;
    let p = op;
    b[p++] = OP_DELETE;
    b.writeUInt32BE(partition, p);
    p = writeVarint(b, p + 4, key.length);
    b.set(key, p);
    b.writeDoubleLE(tsMs, p + key.length);
    this.keys.push(ik);
    this.ops.push(op);
    this.seqs.push(seq);
    this.used = p + key.length + 8 - this.start;
    this.count++;
  }

  /** Ends the batch: its bytes are final, the slab's unused reservation is returned. */
  seal(): void {
    this.giveBack();
    this.reserved = this.used;
  }

  get record(): Buffer {
    return this.slab.buf.subarray(this.start, this.start + this.used);
  }
}

/**
 * Reads one op at `op` in `buf` (a slab or a record): fills `opFields` and returns its end offset.
 * Throws RangeError on an op that runs past `limit`.
 */
export function readOp(buf: Buffer, op: number, limit: number): number {
  if (op + 5 > limit) throw new RangeError('write-batch op cut short');
  const kind = buf[op];
  const partition = ((buf[op + 1] << 24) | (buf[op + 2] << 16) | (buf[op + 3] << 8) | buf[op + 4]) >>> 0;
  const keyLen = readVarint(buf, op + 5, limit);
  let p = varintEnd;
  if (p + keyLen > limit) throw new RangeError('write-batch key runs past the record');
  opFields.kind = kind;
  opFields.partition = partition;
  opFields.keyStart = p;
  opFields.keyLength = keyLen;
  p += keyLen;
  if (kind === OP_PUT) {
    const valueLen = readVarint(buf, p, limit);
    p = varintEnd;
    if (p + valueLen > limit) throw new RangeError('write-batch value runs past the record');
    opFields.valueStart = p;
    opFields.valueLength = valueLen;
    opFields.tsMs = 0;
    return p + valueLen;
  }
  if (kind === OP_DELETE) {
    if (p + 8 > limit) throw new RangeError('write-batch delete without a timestamp');
    opFields.valueStart = -1;
    opFields.valueLength = 0;
    opFields.tsMs = buf.readDoubleLE(p);
    return p + 8;
  }
  throw new RangeError(`unknown write-batch op ${kind}`);
}

/** What readOp found (one reusable object, so decoding allocates nothing). */
export const opFields = { kind: 0, partition: 0, keyStart: 0, keyLength: 0, valueStart: -1, valueLength: 0, tsMs: 0 };

/**
 * Walks a commit-log record's ops (starting at `start` in `buf`, `length` bytes), calling `onOp` with
 * each op's start and end offsets; the op's fields are in `opFields` during the call.
 */
export function forEachOp(buf: Buffer, start: number, length: number, onOp: (op: number, end: number) => void): void {
  const end = start + length;
  if (length < 1 || buf[start] !== RECORD_BATCH) throw new RangeError('not a write-batch record');
  let p = start + 1;
  while (p < end) {
    const next = readOp(buf, p, end);
    onOp(p, next);
    p = next;
  }
}
