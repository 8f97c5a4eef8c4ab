import type { NodeId } from '../core/member.js';
import { sameVersion, syncObjects, type VersionedObject } from '../core/version/versioned-object.js';
import { bad, optionalObjectBytes, type ReadMsg, type ReplicateMsg } from './messages.js';
import { decodeObject, encodeObject } from './object-codec.js';
import { awaitQuorum } from './quorum.js';
import type { Replica } from './replica.js';
import type { ReplicationObserver } from './replication-observer.js';
import type { ReplicationStats } from './replication-stats.js';
import type { Clock, Logger, Transport } from './runtime.js';
import type { Placement } from './write-coordinator.js';

export interface ReadCoordinatorDeps {
  self: NodeId;
  clock: Clock;
  transport: Transport;
  replica: Replica;
  stats: ReplicationStats;
  logger: Logger;
  /** the ring epoch of this node's view, carried by replica messages */
  epoch(): number;
  /** request latencies and PBS legs (optional; see replication-observer.ts) */
  observer?: ReplicationObserver;
}

/**
 * Coordinates reads: asks all N replicas, answers with the merge of the first R, and once every
 * replica has answered (or failed) sends the merged object to the ones that were behind (read repair).
 */
export class ReadCoordinator {
  constructor(private readonly deps: ReadCoordinatorDeps) {}

  async read(placement: Placement, key: Uint8Array, r: number, timeoutMs: number): Promise<VersionedObject | undefined> {
    const done = this.deps.observer?.requestStarted('get', r, placement.replicas.includes(this.deps.self));
    if (done === undefined) return this.readQuorum(placement, key, r, timeoutMs);
    try {
      const merged = await this.readQuorum(placement, key, r, timeoutMs);
      done();
      return merged;
    } catch (e) {
      done(e);
      throw e;
    }
  }

  private async readQuorum(placement: Placement, key: Uint8Array, r: number, timeoutMs: number): Promise<VersionedObject | undefined> {
    const { partition, replicas } = placement;
    const calls = replicas.map((from) => ({ from, promise: this.readFrom(from, partition, key, timeoutMs) }));
    const outcome = await awaitQuorum(this.deps.clock, calls, r, timeoutMs, 'read');
    const merged = mergeAll(outcome.replies.map((x) => x.reply));
    void this.readRepair(partition, key, calls);
    return merged;
  }

  private async readFrom(from: NodeId, partition: number, key: Uint8Array, timeoutMs: number): Promise<VersionedObject | undefined> {
    if (from === this.deps.self) return this.deps.replica.read(partition, key);
    const onReply = this.deps.observer?.replicaRequestSent('read', from);
    const reply = await this.deps.transport.request(from, { type: 'read', partition, key, epoch: this.deps.epoch() } satisfies ReadMsg, timeoutMs);
    onReply?.(reply);
    if (reply.type !== 'read_ok') throw bad(`unexpected reply ${reply.type} to read`);
    const bytes = optionalObjectBytes(reply);
    return bytes === null ? undefined : decodeObject(bytes, from);
  }

  private async readRepair(partition: number, key: Uint8Array, calls: Array<{ from: NodeId; promise: Promise<VersionedObject | undefined> }>): Promise<void> {
    const settled = await Promise.allSettled(calls.map((c) => c.promise));
    const answered: Array<{ from: NodeId; object: VersionedObject | undefined }> = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') answered.push({ from: calls[i].from, object: s.value });
    });
    const merged = mergeAll(answered.map((a) => a.object));
    if (!merged) return;
    let mergedBytes: Uint8Array | undefined;
    const { stats, replica, transport, logger, self } = this.deps;
    for (const a of answered) {
      if (a.object && sameVersion(a.object, merged)) continue;
      stats.staleReplies++;
      stats.readRepairs++;
      if (a.from === self) void replica.merge(partition, key, merged).catch((e) => logger.warn({ err: String(e) }, 'local read repair failed'));
      else transport.send(a.from, { type: 'replicate', partition, key, object: (mergedBytes ??= encodeObject(merged)), epoch: this.deps.epoch() } satisfies ReplicateMsg);
    }
  }
}

export function mergeAll(objects: Array<VersionedObject | undefined>): VersionedObject | undefined {
  let merged: VersionedObject | undefined;
  for (const o of objects) if (o) merged = merged ? syncObjects(merged, o) : o;
  return merged;
}
