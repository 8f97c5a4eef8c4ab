/** Staleness counters the metrics endpoint exports (ringkv_replication_*). */
export class ReplicationStats {
  readRepairs = 0;
  staleReplies = 0;
}
