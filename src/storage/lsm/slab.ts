/**
 * Memory for write batches: large SharedArrayBuffer slabs that batches are carved from back to back.
 *
 * Why shared: a batch's bytes are its commit-log record AND the memtable's copy of its values (the
 * memtable keeps offsets into the slab, not a copy per value). When the memtable is flushed, the table
 * worker (table-worker.ts) reads keys and values straight out of the slabs — no copy of a 64 MiB
 * memtable between threads, no per-entry message. Slabs are never written again once a batch is sealed
 * in them, so both threads see stable bytes; they are freed by the garbage collector once no memtable
 * and no job refers to them.
 */
export const DEFAULT_SLAB_BYTES = 1 << 20;

export class Slab {
  /** @param id unique within one allocator, so a flush job can name the slabs its plan points into */
  constructor(readonly id: number, readonly buf: Buffer) {}

  /** bytes sealed (or claimed by the open batch) from the start */
  used = 0;

  get sab(): SharedArrayBuffer {
    return this.buf.buffer as SharedArrayBuffer;
  }
}

export class SlabAllocator {
  private nextId = 1;
  private current: Slab | undefined;

  constructor(private readonly slabBytes: number = DEFAULT_SLAB_BYTES) {}

  /**
   * A slab with at least `minBytes` free after `used`: the current one when it has room, else a new
   * one (of at least `minBytes`). The caller writes at `slab.used` and then advances `used`.
   */
  withRoom(minBytes: number): Slab {
    const cur = this.current;
    if (cur !== undefined && cur.buf.length - cur.used >= minBytes) return cur;
    const slab = new Slab(this.nextId++, Buffer.from(new SharedArrayBuffer(Math.max(this.slabBytes, minBytes))));
    this.current = slab;
    return slab;
  }
}
