/** Maps a validated node config onto what src/cluster consumes: ClusterConfig and the member list. */
import type { ClusterConfig } from '../cluster/cluster-config.js';
import type { Member } from '../core/member.js';
import type { RingkvConfig } from './schema.js';

export function toClusterConfig(c: RingkvConfig): ClusterConfig {
  return {
    partitions: c.partitions,
    n: c.n,
    r: c.r,
    w: c.w,
    requestTimeoutMs: c.requestTimeoutMs,
    maxKeyBytes: c.maxKeyBytes,
    maxValueBytes: c.maxValueBytes,
    siblingWarnCount: c.siblingWarnCount,
    siblingLimitCount: c.siblingLimitCount,
    vclockWarnCount: c.vclockWarnCount,
    maxClockOffsetMs: c.maxClockOffsetMs,
    writeDedupMaxBytes: c.writeDedupMaxBytes,
    writeDedupMaxAgeMs: c.writeDedupMaxAgeMs,
    hintWindowMs: c.hintWindowMs,
    hintMaxBytesPerTarget: c.hintMaxBytesPerTarget,
    hintReplayObjectsPerSec: c.hintReplayObjectsPerSec,
    tombstoneGraceMs: c.tombstoneGraceMs,
    reapIntervalMs: c.reapIntervalMs,
    aaeEnabled: c.aaeEnabled,
    aaeExchangePeriodMs: c.aaeExchangePeriodMs,
    aaeRebuildPeriodMs: c.aaeRebuildPeriodMs,
    aaeRepairBytesPerSec: c.aaeRepairBytesPerSec,
    aaeRequestTimeoutMs: c.aaeRequestTimeoutMs,
  };
}

/** This node as a Member, built from its own listeners. */
export function selfMember(c: RingkvConfig): Member {
  return {
    id: c.nodeId,
    address: `${c.host}:${c.internalPort}`,
    httpAddress: `${c.host}:${c.httpPort}`,
    ...(c.zone !== undefined ? { zone: c.zone } : {}),
    weight: c.weight,
  };
}

/** Every member, this node first; a peer entry carrying this node's id is replaced by selfMember. */
export function membersFromConfig(c: RingkvConfig): Member[] {
  const others: Member[] = c.peers
    .filter((p) => p.id !== c.nodeId)
    .map((p) => ({
      id: p.id,
      address: p.address,
      ...(p.httpAddress !== undefined ? { httpAddress: p.httpAddress } : {}),
      ...(p.zone !== undefined ? { zone: p.zone } : {}),
      weight: p.weight,
    }));
  return [selfMember(c), ...others];
}

/** Splits "host:port" (the schema guarantees the shape). */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}
