/**
 * The storage engine seam. A replica stores one encoded object (sibling set + version vector) per
 * key; the cluster layer does read-merge-write under a per-key lock, so the engine only needs
 * last-write-wins per key. Keys are ordered by (partition, key bytes) so one partition can be scanned
 * in order for anti-entropy and ownership transfer.
 */
export interface EngineEntry {
  partition: number;
  key: Uint8Array;
  value: Uint8Array;
}

export interface EngineStats {
  keys?: number;
  bytesOnDisk?: number;
  [name: string]: number | undefined;
}

export interface Engine {
  get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined>;
  /** resolves once the write is as durable as the engine's sync mode promises */
  put(partition: number, key: Uint8Array, value: Uint8Array): Promise<void>;
  delete(partition: number, key: Uint8Array): Promise<void>;
  /**
   * Ordered by (partition, key), partitions in [fromPartition, toPartition), over a consistent
   * snapshot taken when iteration starts.
   */
  scan(fromPartition: number, toPartition: number): AsyncIterable<EngineEntry>;
  stats(): EngineStats;
  /**
   * How many times the engine has dropped data it had acknowledged (a corrupt table set aside, corrupt
   * commit-log records skipped) since it was opened, start-up recovery included. Monotonic. A replica
   * whose stored state went backwards must stop minting versions under its old identity.
   * Absent = never.
   */
  dataLossCount?(): number;
  close(): Promise<void>;
}

/** Total order used by every engine: partition first, then key bytes. */
export function compareEntryKeys(pa: number, ka: Uint8Array, pb: number, kb: Uint8Array): number {
  if (pa !== pb) return pa - pb;
  return Buffer.compare(ka, kb);
}
