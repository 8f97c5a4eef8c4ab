/**
 * What a front end (HTTP, RESP, embedded) asks of a node. The coordinator implements it; front ends
 * translate their protocol to these calls and RingkvError codes back to their protocol.
 */
export interface ReadOptions {
  /** replicas that must answer; 1 <= r <= n; default from config (2) */
  r?: number;
  /** of those, primaries (reads ask only primaries, so this raises r to at least pr) */
  pr?: number;
  timeoutMs?: number;
}

export interface WriteOptions {
  /** replicas that must acknowledge; 1 <= w <= n; default from config (2) — stand-ins count (sloppy quorum) */
  w?: number;
  /** strict quorum: of the acknowledgements, this many must come from primaries (Riak's pw); stand-ins do not count */
  pw?: number;
  timeoutMs?: number;
  /** opaque causal-context token from an earlier read; absent = concurrent with what exists */
  context?: string;
  /**
   * last-writer-wins overwrite (RESP SET): the write supersedes whatever the replica that mints it
   * holds, without a read first; versions only other replicas hold stay siblings until a read's
   * last-writer-wins pick (or a write with its context) resolves them. Not with a context.
   */
  overwrite?: boolean;
  /**
   * the client's id for this write (HTTP X-Ringkv-Write-Id): a retry with the same id, while the id
   * is remembered, is applied once; 1..128 printable ASCII characters
   */
  writeId?: string;
}

/** One live (non-tombstone) version as a front end sees it. */
export interface SiblingView {
  kind: 'bytes' | 'counter';
  /** bytes as written; for a counter, its decimal value as ASCII */
  value: Uint8Array;
  /** hybrid logical timestamp and writer, for the documented last-writer-wins pick */
  hlcWallMs: number;
  hlcLogical: number;
  writer: string;
}

export interface GetResult {
  /** live siblings, in a deterministic order (oldest HLC first); empty = not found / tombstone */
  siblings: SiblingView[];
  /** token to pass back on the next write to supersede what this read saw ('' when nothing existed) */
  context: string;
}

export interface PutResult {
  context: string;
}

export interface KvService {
  get(key: Uint8Array, opts?: ReadOptions): Promise<GetResult>;
  put(key: Uint8Array, value: Uint8Array, opts?: WriteOptions): Promise<PutResult>;
  delete(key: Uint8Array, opts?: WriteOptions): Promise<void>;
  /** PN-counter add (delta may be negative); resolves with the counter's value after the write */
  increment(key: Uint8Array, delta: bigint, opts?: Omit<WriteOptions, 'context'>): Promise<bigint>;
}
