/** The settings cluster behaviour depends on; validated and defaulted by src/config before they get here. */
export interface ClusterConfig {
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
  /** prune version-vector entries past this count ... @default 50 */
  vclockPruneCount: number;
  /** ... when older than this @default 86400000 */
  vclockPruneAgeMs: number;
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
  vclockPruneCount: 50,
  vclockPruneAgeMs: 86_400_000,
};
