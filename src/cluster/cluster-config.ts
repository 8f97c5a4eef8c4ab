/** The settings cluster behaviour depends on; validated and defaulted by src/config before they get here. */
import type { AaeConfig } from './anti-entropy/aae-service.js';

export interface ClusterConfig extends AaeConfig {
  /** hints older than this are dropped (anti-entropy repairs instead) @default 10800000 */
  hintWindowMs: number;
  /** hints kept per down node, in bytes @default 1073741824 */
  hintMaxBytesPerTarget: number;
  /** hints handed back per second per node (at least 1) @default 1000 */
  hintReplayObjectsPerSec: number;
  /** deleted keys are reaped only this long after the delete (must exceed hintWindowMs) @default 864000000 */
  tombstoneGraceMs: number;
  /** how often each node looks for tombstones to reap @default 3600000 */
  reapIntervalMs: number;
  /** partitions on the ring, a power of two @default 256 */
  partitions: number;
  /** replicas per key @default 3 */
  n: number;
  /** default read quorum @default 2 */
  r: number;
  /** default write quorum @default 2 */
  w: number;
  /** default per-request timeout @default 5000 */
  requestTimeoutMs: number;
  /** @default 1024 */
  maxKeyBytes: number;
  /** @default 1048576 */
  maxValueBytes: number;
  /** log a warning past this many siblings @default 25 */
  siblingWarnCount: number;
  /** refuse a write that would exceed this many siblings @default 100 */
  siblingLimitCount: number;
  /**
   * log and count a key whose version vector has more entries than this @default 50. Entries are never
   * pruned: dropping one can bring a deleted or superseded version back (it needs knowledge of what
   * every replica holds, which anti-entropy will provide).
   */
  vclockWarnCount: number;
  /** a peer's HLC more than this far ahead of our clock is clamped, not adopted @default 500 */
  maxClockOffsetMs: number;
  /** write ids remembered for exactly-once retries: at most this many bytes @default 8388608 */
  writeDedupMaxBytes: number;
  /** ... and for at most this long @default 600000 */
  writeDedupMaxAgeMs: number;
}

export const DEFAULT_CLUSTER_CONFIG: ClusterConfig = {
  partitions: 256,
  n: 3,
  r: 2,
  w: 2,
  requestTimeoutMs: 5000,
  maxKeyBytes: 1024,
  maxValueBytes: 1024 * 1024,
  siblingWarnCount: 25,
  siblingLimitCount: 100,
  vclockWarnCount: 50,
  maxClockOffsetMs: 500,
  writeDedupMaxBytes: 8 * 1024 * 1024,
  writeDedupMaxAgeMs: 600_000,
  hintWindowMs: 3 * 3_600_000,
  hintMaxBytesPerTarget: 1024 * 1024 * 1024,
  hintReplayObjectsPerSec: 1000,
  tombstoneGraceMs: 10 * 24 * 3_600_000,
  reapIntervalMs: 3_600_000,
  aaeEnabled: true,
  aaeExchangePeriodMs: 600_000,
  aaeRebuildPeriodMs: 7 * 24 * 3_600_000,
  aaeRepairBytesPerSec: 16 * 1024 * 1024,
  aaeRequestTimeoutMs: 10_000,
};
