/**
 * Gossip and failure-detection settings. The defaults are chosen together (the README's membership
 * section has the measurements): a killed process is marked down by every live node in about 1.6 s
 * (median), a silent one (dead host, partition) in about 3.5 s, while a node paused for 2 s is at
 * most suspected, even with a heartbeat or two lost just before the pause.
 *
 * Time from a node's last heartbeat reaching its watcher to `down` there:
 *   S = the silence until the direct detector's phi reaches phiThreshold (≈ mean + 5.2 × deviation:
 *       ≈ 1.8 s at 500 ms heartbeats and the 250 ms deviation floor), then a probe round that ends
 *   - at once if the connection is refused (a killed process: nothing listens), or
 *   - after probeTimeoutMs (2 s) if nothing answers (silent host or partition — or a paused node).
 * A paused node answers the probes queued for it when it wakes, so it is convicted only by a round
 * that ends before it wakes: the round starts at S after the last heartbeat heard, which with L lost
 * heartbeats was (L + 1) intervals before the pause at most, so the earliest `down` comes
 * S + probeTimeoutMs - (L + 1) × 500 ms = 2.8 s (L = 1) or 2.3 s (L = 2) after the pause starts.
 * The rumors then carry `down` to every node within milliseconds.
 */
import { RingkvError } from '../../core/errors.js';

export interface GossipConfig {
  /** the cluster's name; gossip naming another is refused @default "ringkv" */
  clusterName: string;
  /** one push-pull exchange with a random live peer, and one heartbeat, per interval @default 500 */
  gossipIntervalMs: number;
  /** how long an exchange may take before it is given up @default 1000 */
  exchangeTimeoutMs: number;
  /** phi at which the detector suspects a member (Cassandra's phi_convict_threshold) @default 8 */
  phiThreshold: number;
  /** inter-arrival samples the detector keeps per member @default 100 */
  detectorWindow: number;
  /** floor of the deviation in the direct detectors' normal model @default 250 */
  detectorMinStdDevMs: number;
  /** longer heartbeat gaps are outages, not samples @default 2000 */
  detectorMaxSampleMs: number;
  /** members each node sends direct heartbeats to, i.e. watchers per node (watch-ring.ts) @default 3 */
  watchersPerNode: number;
  /** a new watcher waits this long for a member's first direct heartbeat before it may suspect it @default 2000 */
  watchGraceMs: number;
  /** how often the direct detectors are checked (the gossip ones are checked every round) @default 100 */
  detectorCheckMs: number;
  /** helpers asked to probe a suspected member (SWIM's k) @default 3 */
  indirectProbes: number;
  /**
   * a probe round (direct + indirect) with no answer in this time marks the member down; a refused
   * connection ends the round at once @default 2000
   */
  probeTimeoutMs: number;
  /**
   * a gap longer than this between runs of the node's own timers (due every detectorCheckMs) means the
   * node itself was stalled (GC, SIGSTOP): it then does not count the stall as its peers' silence
   * @default 500
   */
  stallThresholdMs: number;
  /** peers a newly learned status change is pushed to at once (0: periodic gossip only) @default 3 */
  rumorFanout: number;
  /** how long a graceful stop waits for peers to take its announcement @default 500 */
  announceTimeoutMs: number;
  /**
   * member-table changes are written to the record at most this often; a new ring, and this node's
   * own status changes, are written at once @default 5000
   */
  persistIntervalMs: number;
  /** ring epochs kept in the persisted history @default 16 */
  ringHistoryLength: number;
  /** replication factor the claim's spread heuristic aims at (the cluster's n) @default 3 */
  replicationFactor: number;
  /** the claimant commits ring changes (joins of up nodes, removals) on its own @default true */
  claimantCommits: boolean;
}

export const DEFAULT_GOSSIP_CONFIG: GossipConfig = Object.freeze({
  clusterName: 'ringkv',
  gossipIntervalMs: 500,
  exchangeTimeoutMs: 1000,
  phiThreshold: 8,
  detectorWindow: 100,
  detectorMinStdDevMs: 250,
  detectorMaxSampleMs: 2000,
  watchersPerNode: 3,
  watchGraceMs: 2000,
  detectorCheckMs: 100,
  indirectProbes: 3,
  probeTimeoutMs: 2000,
  stallThresholdMs: 500,
  rumorFanout: 3,
  announceTimeoutMs: 500,
  persistIntervalMs: 5000,
  ringHistoryLength: 16,
  replicationFactor: 3,
  claimantCommits: true,
});

/** Defaults filled in and every field checked; throws BAD_PARAMETER naming the field. */
export function gossipConfig(partial: Partial<GossipConfig> = {}): GossipConfig {
  const c: GossipConfig = { ...DEFAULT_GOSSIP_CONFIG, ...partial };
  const bad = (field: keyof GossipConfig, want: string): never => {
    throw new RingkvError('BAD_PARAMETER', `gossip ${field} must be ${want}, got ${JSON.stringify(c[field])}`, { field });
  };
  if (typeof c.clusterName !== 'string' || c.clusterName.length === 0 || c.clusterName.length > 64) bad('clusterName', 'a string of 1 to 64 characters');
  const positive: (keyof GossipConfig)[] = [
    'gossipIntervalMs',
    'exchangeTimeoutMs',
    'phiThreshold',
    'detectorMinStdDevMs',
    'detectorMaxSampleMs',
    'watchGraceMs',
    'detectorCheckMs',
    'probeTimeoutMs',
    'stallThresholdMs',
    'announceTimeoutMs',
    'persistIntervalMs',
  ];
  for (const f of positive) if (typeof c[f] !== 'number' || !Number.isFinite(c[f] as number) || (c[f] as number) <= 0) bad(f, 'a finite number > 0');
  const counts: [keyof GossipConfig, number][] = [
    ['detectorWindow', 2],
    ['indirectProbes', 0],
    ['watchersPerNode', 1],
    ['rumorFanout', 0],
    ['ringHistoryLength', 1],
    ['replicationFactor', 1],
  ];
  for (const [f, min] of counts) if (!Number.isInteger(c[f]) || (c[f] as number) < min) bad(f, `an integer >= ${min}`);
  if (typeof c.claimantCommits !== 'boolean') bad('claimantCommits', 'a boolean');
  return c;
}
