import { RingkvError } from '../core/errors.js';
import type { NodeId } from '../core/member.js';
import type { CausalContext } from '../core/version/context-token.js';
import { validateObject } from '../core/version/validate-object.js';
import type { ClusterConfig } from './cluster-config.js';
import {
  ACK,
  bad,
  requireDot,
  requireInt,
  requireKey,
  requireObjectBytes,
  requirePartition,
  requireWriteId,
  type CoordinateWriteReply,
  type Mutation,
  type ReadReply,
  type ReplicateReply,
} from './messages.js';
import { decodeObject, encodeObject } from './object-codec.js';
import type { RecentWrites } from './recent-writes.js';
import type { Replica } from './replica.js';
import { SERVICE_TIME_FIELD, type ReplicationObserver } from './replication-observer.js';
import type { Clock, Message } from './runtime.js';
import type { Placement, WriteCoordinator } from './write-coordinator.js';
import type { HintStore } from './hints/hint-store.js';

export interface ReplicaHandlerDeps {
  self: NodeId;
  config: ClusterConfig;
  clock: Clock;
  replica: Replica;
  writes: WriteCoordinator;
  recentWrites: RecentWrites;
  /** Q of the current ring */
  partitions(): number;
  placementOf(key: Uint8Array): Placement;
  /**
   * does this node hold the partition: a replica under the current or the pending ring, or one it
   * handed away that still serves until dropped? A request for one it does not hold is refused
   * (never applied against the wrong owners), naming this node's ring epoch.
   */
  holds(partition: number): boolean;
  epoch(): number;
  /** where hints from coordinators are kept (this node as a stand-in) */
  hints?: HintStore;
  /** times replicate and read service for the coordinator's PBS legs (optional) */
  observer?: ReplicationObserver;
}

/**
 * What a replica answers to its peers: reads, replicated objects, and writes forwarded to it for
 * coordination. Everything a peer sends is validated first: a malformed message gets an error reply,
 * never a crash.
 */
export class ReplicaHandlers {
  constructor(private readonly deps: ReplicaHandlerDeps) {}

  async handle(from: NodeId, msg: Message): Promise<Message> {
    const { config, replica } = this.deps;
    const partitions = this.deps.partitions();
    switch (msg.type) {
      case 'read': {
        const elapsedUs = this.deps.observer?.serviceTimer();
        const partition = requirePartition(msg, partitions);
        const key = requireKey(msg, config.maxKeyBytes);
        this.requireHeld(partition, msg);
        const reply: ReadReply = { type: 'read_ok', object: (await replica.readEncoded(partition, key)) ?? null };
        return elapsedUs ? { ...reply, [SERVICE_TIME_FIELD]: elapsedUs() } : reply;
      }
      case 'replicate': {
        const elapsedUs = this.deps.observer?.serviceTimer();
        const partition = requirePartition(msg, partitions);
        const key = requireKey(msg, config.maxKeyBytes);
        const bytes = requireObjectBytes(msg);
        if (msg.hintFor !== undefined) {
          // a stand-in: keep it as a hint for the primary that is down, apart from this node's own data
          const target = msg.hintFor;
          if (typeof target !== 'string' || target.length === 0 || target.length > 64 || target === this.deps.self) throw bad('hintFor must name another node');
          if (!this.deps.hints) throw bad(`node ${this.deps.self} keeps no hints`);
          decodeObject(bytes, from); // validated before it is kept
          await this.deps.hints.add(target, partition, key, bytes, this.deps.clock.nowMs());
          return ACK;
        }
        this.requireHeld(partition, msg);
        const incoming = decodeObject(bytes, from);
        if (msg.writeId !== undefined) {
          // remembered, so a client's retry of this write through another replica is not minted again
          this.deps.recentWrites.record(requireWriteId(msg.writeId), partition, key, requireDot(msg.dot, 'replicate'), this.deps.clock.monotonicMs());
        }
        const merged = await replica.merge(partition, key, incoming, bytes);
        const reply = msg.wantObject === true ? ({ type: 'ack', object: merged.bytes } satisfies ReplicateReply) : ACK;
        return elapsedUs ? { ...reply, [SERVICE_TIME_FIELD]: elapsedUs() } : reply;
      }
      case 'coordinate_write': {
        const key = requireKey(msg, config.maxKeyBytes);
        const w = requireInt(msg, 'w', 1, config.n);
        const pw = msg.pw === undefined ? undefined : requireInt(msg, 'pw', 1, config.n);
        const timeoutMs = requireInt(msg, 'timeoutMs', 1, 600_000);
        const placement = this.deps.placementOf(key);
        if (!placement.replicas.includes(this.deps.self)) {
          throw new RingkvError('NOT_A_REPLICA', `node ${this.deps.self} is not a replica of that key at ring epoch ${this.deps.epoch()}${senderEpoch(msg)}`);
        }
        const writeId = requireWriteId(msg.writeId);
        this.refuseForgottenRetry(msg, writeId);
        const outcome = await this.deps.writes.coordinate(
          placement,
          { key, mutation: mutationFromMessage(msg, config.maxValueBytes), context: contextFromMessage(msg), w, timeoutMs, ...(pw ? { pw } : {}) },
          writeId,
        );
        return { type: 'coordinate_write_ok', object: outcome.mergedBytes ?? encodeObject(outcome.merged), dot: outcome.dot } satisfies CoordinateWriteReply;
      }
      default:
        throw new RingkvError('UNKNOWN_MESSAGE', `unknown internode message type ${JSON.stringify(String(msg.type)).slice(0, 80)}`);
    }
  }

  /**
   * A retried write whose id this replica does not hold was either never received — then minting it
   * is right — or received and forgotten: by a restart, or by the id memory's bounds. Only when the
   * memory has run, forgetting nothing, since the write was first sent is it the first case; else the
   * outcome is unknown, and minting again could apply the write twice.
   */
  private refuseForgottenRetry(msg: Message, writeId: string): void {
    const attempt = msg.attempt === undefined ? 1 : requireInt(msg, 'attempt', 1, 1_000_000);
    if (attempt === 1) return;
    const ageMs = requireInt(msg, 'writeAgeMs', 0, 3_600_000);
    const now = this.deps.clock.monotonicMs();
    if (this.deps.recentWrites.get(writeId, now) || this.deps.recentWrites.rememberedSince(ageMs + RETRY_SLACK_MS, now)) return;
    throw new RingkvError('TIMEOUT', `node ${this.deps.self} does not remember write ${writeId.slice(0, 80)} (it restarted or forgot ids since it was first sent): whether it was applied is unknown`);
  }

  /** refuses a request for a partition this node does not hold */
  private requireHeld(partition: number, msg: Message): void {
    if (!this.deps.holds(partition)) {
      throw new RingkvError('NOT_A_REPLICA', `node ${this.deps.self} does not hold partition ${partition} at ring epoch ${this.deps.epoch()}${senderEpoch(msg)}`);
    }
  }
}

/** margin for the delay between the sender measuring a write's age and this replica reading its clock */
const RETRY_SLACK_MS = 1000;

function senderEpoch(msg: Message): string {
  return typeof msg.epoch === 'number' ? ` (the sender is at epoch ${msg.epoch})` : '';
}

function contextFromMessage(msg: Message): CausalContext {
  if (!Array.isArray(msg.context) || !Array.isArray(msg.dots)) throw bad('context missing');
  // the object validator's rules for vv entries and counters, on a sibling-free object
  const checked = validateObject({ vv: msg.context, siblings: [], ...(msg.counter !== undefined ? { counterFloor: msg.counter } : {}) }, 'coordinate_write context');
  const ctx: CausalContext = { vv: checked.vv, dots: (msg.dots as unknown[]).map((d) => requireDot(d, 'context')) };
  if (checked.counterFloor) ctx.counter = checked.counterFloor;
  return ctx;
}

function mutationFromMessage(msg: Message, maxValueBytes: number): Mutation {
  const m = msg.mutation as Record<string, any> | undefined;
  if (m?.kind === 'increment' && typeof m.delta === 'string' && /^-?\d{1,20}$/.test(m.delta)) return { kind: 'increment', delta: m.delta };
  if (m?.kind === 'set') {
    const v = m.value;
    if (v?.kind === 'tombstone') return { kind: 'set', value: { kind: 'tombstone' } };
    if (v?.kind === 'bytes' && v.bytes instanceof Uint8Array && v.bytes.length <= maxValueBytes) return { kind: 'set', value: { kind: 'bytes', bytes: v.bytes }, ...(m.overwrite === true ? { overwrite: true } : {}) };
  }
  throw bad('mutation missing or malformed');
}
