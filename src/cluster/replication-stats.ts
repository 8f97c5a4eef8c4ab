/** Counters the metrics endpoint exports (ringkv_replication_*, ringkv_versions_*). */
export class ReplicationStats {
  readRepairs = 0;
  staleReplies = 0;
  /** peer timestamps more than maxClockOffsetMs ahead of this node's clock, clamped */
  clockOffsetClamps = 0;
  /** keys seen with a version vector over vclockWarnCount entries */
  largeVersionVectors = 0;
  /** retried writes answered from a version already minted (not minted again) */
  writeRetriesDeduplicated = 0;
}
