import { RingkvError } from '../core/errors.js';
import type { Member, NodeId } from '../core/member.js';
import { partitionOf } from '../core/hash.js';
import { buildRing, type Ring } from '../core/ring.js';
import { decodeContext, encodeContext, type CausalContext } from '../core/version/context-token.js';
import { pnMerge, pnValue, type PnCounter } from '../core/version/pn-counter.js';
import { validateObject } from '../core/version/validate-object.js';
import { contextOfRead, contextOfWrite, liveSiblings, sameVersion, syncObjects, type VersionedObject } from '../core/version/versioned-object.js';
import { vvGet } from '../core/version/version-vector.js';
import type { Engine } from '../storage/engine.js';
import type { ClusterConfig } from './cluster-config.js';
import type { GetResult, KvService, PutResult, ReadOptions, SiblingView, WriteOptions } from './kv-service.js';
import { ACK, bad, optionalObjectBytes, requireInt, requireKey, requireObjectBytes, requirePartition, type CoordinateWriteMsg, type CoordinateWriteReply, type Mutation, type ReadMsg, type ReadReply, type ReplicateMsg } from './messages.js';
import { decodeObject, encodeObject, type EncodedObject } from './object-codec.js';
import { awaitQuorum } from './quorum.js';
import { RecentWrites } from './recent-writes.js';
import { NodeIdentity } from './node-identity.js';
import { Replica } from './replica.js';
import { ReplicationStats } from './replication-stats.js';
import { silentLogger, type Clock, type Logger, type Message, type Random, type Transport } from './runtime.js';

export interface ClusterNodeDeps {
  self: NodeId;
  members: Member[];
  config: ClusterConfig;
  clock: Clock;
  random: Random;
  transport: Transport;
  engine: Engine;
  logger?: Logger;
  /**
   * the node's version identity (incarnation, actor, HLC floor), opened by the runtime with
   * NodeIdentity.open() before the node is built; absent = NodeIdentity.ephemeral (a fresh actor)
   */
  identity?: NodeIdentity;
}

/**
 * A ringkv node's cluster behaviour: it coordinates any request for any key, and serves as a
 * replica for the keys the ring gives it. Writes are coordinated by a replica of the key (this node
 * when it is one, else the first reachable one), which mints the version, stores it and sends the
 * whole object to the other replicas — so version vectors only ever claim what a replica saw.
 */
export class ClusterNode implements KvService {
  readonly self: NodeId;
  readonly config: ClusterConfig;
  readonly stats = new ReplicationStats();
  private readonly members: Member[];
  private readonly ring: Ring;
  private readonly replica: Replica;
  private readonly clock: Clock;
  private readonly transport: Transport;
  private readonly logger: Logger;
  private readonly random: Random;
  private readonly forwardedWrites = new RecentWrites<EncodedObject>();
  private writeSeq = 0;
  private stopped = false;

  constructor(deps: ClusterNodeDeps) {
    this.self = deps.self;
    this.config = deps.config;
    this.members = deps.members;
    this.clock = deps.clock;
    this.transport = deps.transport;
    this.random = deps.random;
    this.logger = deps.logger ?? silentLogger;
    if (!deps.members.some((m) => m.id === deps.self)) throw new RingkvError('BAD_PARAMETER', `node ${deps.self} is not in the member list`);
    this.ring = buildRing(deps.members, deps.config.partitions);
    this.replica = new Replica(deps.self, deps.engine, deps.clock, deps.config, this.logger);
  }

  start(): void {
    this.transport.onRequest((from, msg) => this.handle(from, msg));
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  // ---- KvService -------------------------------------------------------------------------------

  async get(key: Uint8Array, opts: ReadOptions = {}): Promise<GetResult> {
    this.checkKey(key);
    const r = this.quorumParam('r', opts.r ?? this.config.r);
    const timeoutMs = this.timeoutParam(opts.timeoutMs);
    const merged = await this.quorumRead(key, r, timeoutMs);
    if (!merged) return { siblings: [], context: '' };
    return { siblings: toViews(merged), context: encodeContext(contextOfRead(merged)) };
  }

  async put(key: Uint8Array, value: Uint8Array, opts: WriteOptions = {}): Promise<PutResult> {
    this.checkKey(key);
    if (value.length > this.config.maxValueBytes) {
      throw new RingkvError('VALUE_TOO_LARGE', `value is ${value.length} bytes; the limit is ${this.config.maxValueBytes} bytes (maxValueBytes)`);
    }
    const context = decodeContext(opts.context);
    const written = await this.write(key, { kind: 'set', value: { kind: 'bytes', bytes: value } }, context, opts);
    const dot = { node: written.coordinator, counter: vvGet(written.object.vv, written.coordinator) };
    const sibling = written.object.siblings.find((s) => s.dot.node === dot.node && s.dot.counter === dot.counter);
    return { context: encodeContext(sibling ? contextOfWrite(sibling, context) : contextOfRead(written.object)) };
  }

  async delete(key: Uint8Array, opts: WriteOptions = {}): Promise<void> {
    this.checkKey(key);
    await this.write(key, { kind: 'set', value: { kind: 'tombstone' } }, decodeContext(opts.context), opts);
  }

  async increment(key: Uint8Array, delta: bigint, opts: Omit<WriteOptions, 'context'> = {}): Promise<bigint> {
    this.checkKey(key);
    const written = await this.write(key, { kind: 'increment', delta: delta.toString() }, { vv: [], dots: [] }, opts);
    return pnValue(mergedCounter(written.object));
  }

  // ---- introspection for the HTTP API ----------------------------------------------------------

  ringJson(): object {
    const n = this.config.n;
    const partitions = [];
    for (let p = 0; p < this.ring.partitions; p++) {
      const pl = this.ring.preferenceList(p, n);
      partitions.push({ partition: p, owner: this.ring.ownerOf(p), preferenceList: pl.primaries, fallbacks: pl.fallbacks });
    }
    return { Q: this.ring.partitions, N: n, members: this.members.map((m) => m.id), partitions };
  }

  membersJson(): object[] {
    // Static membership until gossip lands: every configured member is reported up.
    return this.members.map((m) => ({ id: m.id, address: m.address, httpAddress: m.httpAddress ?? null, zone: m.zone ?? null, weight: m.weight, status: 'up', phi: 0, heartbeat: 0 }));
  }

  // ---- coordination ----------------------------------------------------------------------------

  private primaries(key: Uint8Array): { partition: number; replicas: readonly NodeId[] } {
    const partition = partitionOf(key, this.ring.partitions);
    return { partition, replicas: this.ring.preferenceList(partition, this.config.n).primaries };
  }

  private async quorumRead(key: Uint8Array, r: number, timeoutMs: number): Promise<VersionedObject | undefined> {
    const { partition, replicas } = this.primaries(key);
    const calls = replicas.map((from) => ({ from, promise: this.readFrom(from, partition, key, timeoutMs) }));
    const outcome = await awaitQuorum(this.clock, calls, Math.min(r, replicas.length), timeoutMs, 'read');
    const merged = mergeAll(outcome.replies.map((x) => x.reply));
    void this.readRepair(partition, key, calls);
    return merged;
  }

  private async readFrom(from: NodeId, partition: number, key: Uint8Array, timeoutMs: number): Promise<VersionedObject | undefined> {
    if (from === this.self) return this.replica.read(partition, key);
    const reply = await this.transport.request(from, { type: 'read', partition, key } satisfies ReadMsg, timeoutMs);
    if (reply.type !== 'read_ok') throw bad(`unexpected reply ${reply.type} to read`);
    const bytes = optionalObjectBytes(reply);
    return bytes === null ? undefined : decodeObject(bytes, from);
  }

  /** Once every replica has answered (or failed), sends the merged object to the ones that were behind. */
  private async readRepair(partition: number, key: Uint8Array, calls: Array<{ from: NodeId; promise: Promise<VersionedObject | undefined> }>): Promise<void> {
    const settled = await Promise.allSettled(calls.map((c) => c.promise));
    const answered: Array<{ from: NodeId; object: VersionedObject | undefined }> = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') answered.push({ from: calls[i].from, object: s.value });
    });
    const merged = mergeAll(answered.map((a) => a.object));
    if (!merged) return;
    let mergedBytes: Uint8Array | undefined;
    for (const a of answered) {
      if (a.object && sameVersion(a.object, merged)) continue;
      this.stats.staleReplies++;
      this.stats.readRepairs++;
      if (a.from === this.self) void this.replica.merge(partition, key, merged).catch((e) => this.logger.warn({ err: String(e) }, 'local read repair failed'));
      else this.transport.send(a.from, { type: 'replicate', partition, key, object: (mergedBytes ??= encodeObject(merged)) } satisfies ReplicateMsg);
    }
  }

  private async write(key: Uint8Array, mutation: Mutation, context: CausalContext, opts: Omit<WriteOptions, 'context'>): Promise<{ object: VersionedObject; coordinator: NodeId }> {
    const w = this.quorumParam('w', opts.w ?? this.config.w);
    const timeoutMs = this.timeoutParam(opts.timeoutMs);
    const { partition, replicas } = this.primaries(key);
    if (replicas.includes(this.self)) {
      return { object: (await this.coordinateWrite(partition, key, mutation, context, w, timeoutMs, replicas)).object, coordinator: this.self };
    }
    // Not a replica: hand the write to the first replica that answers, as Riak forwards to a vnode.
    // One id for every attempt, so a replica that sees the write twice applies it once.
    const writeId = `${this.self}/${this.random.int(2 ** 31).toString(36)}/${++this.writeSeq}`;
    let lastError: unknown;
    for (const target of replicas) {
      try {
        const msg: CoordinateWriteMsg = { type: 'coordinate_write', writeId, key, mutation, context: context.vv, dots: context.dots, w, timeoutMs };
        const reply = await this.transport.request(target, msg, timeoutMs);
        if (reply.type !== 'coordinate_write_ok') throw bad(`unexpected reply ${reply.type} to coordinate_write`);
        return { object: decodeObject(requireObjectBytes(reply), target), coordinator: target };
      } catch (e) {
        lastError = e;
        if (!(e instanceof RingkvError) || e.code !== 'PEER_UNREACHABLE') throw e;
      }
    }
    throw new RingkvError('QUORUM_NOT_MET', `write quorum not met: 0 of ${w} required replicas acknowledged (no replica of the key reachable: ${String((lastError as Error)?.message ?? lastError)})`, {
      answered: 0,
      needed: w,
    });
  }

  private async coordinateWrite(
    partition: number,
    key: Uint8Array,
    mutation: Mutation,
    context: CausalContext,
    w: number,
    timeoutMs: number,
    replicas: readonly NodeId[],
  ): Promise<EncodedObject> {
    const written = await this.replica.mint(partition, key, mutation, context);
    // one message for every replica: the transport encodes per peer, the object inside is encoded once
    const msg: ReplicateMsg = { type: 'replicate', partition, key, object: written.bytes };
    const calls = [{ from: this.self, promise: Promise.resolve(ACK) }];
    for (const from of replicas) if (from !== this.self) calls.push({ from, promise: this.transport.request(from, msg, timeoutMs) });
    await awaitQuorum(this.clock, calls, Math.min(w, replicas.length), timeoutMs, 'write');
    return written;
  }

  // ---- replica side: requests from peers --------------------------------------------------------

  private async handle(from: NodeId, msg: Message): Promise<Message> {
    if (this.stopped) throw new RingkvError('PEER_UNREACHABLE', `node ${this.self} is stopping`);
    switch (msg.type) {
      case 'read': {
        const partition = requirePartition(msg, this.ring.partitions);
        const key = requireKey(msg, this.config.maxKeyBytes);
        return { type: 'read_ok', object: (await this.replica.readEncoded(partition, key)) ?? null } satisfies ReadReply;
      }
      case 'replicate': {
        const partition = requirePartition(msg, this.ring.partitions);
        const key = requireKey(msg, this.config.maxKeyBytes);
        const bytes = requireObjectBytes(msg);
        await this.replica.merge(partition, key, decodeObject(bytes, from), bytes);
        return ACK;
      }
      case 'coordinate_write': {
        const key = requireKey(msg, this.config.maxKeyBytes);
        const w = requireInt(msg, 'w', 1, this.config.n);
        const timeoutMs = requireInt(msg, 'timeoutMs', 1, 600_000);
        const { partition, replicas } = this.primaries(key);
        if (!replicas.includes(this.self)) throw bad(`node ${this.self} is not a replica of that key`);
        const context = contextFromMessage(msg);
        const mutation = mutationFromMessage(msg, this.config.maxValueBytes);
        if (typeof msg.writeId !== 'string' || msg.writeId.length === 0 || msg.writeId.length > 200) throw bad('writeId missing');
        const written = await this.forwardedWrites.once(`${from}|${msg.writeId}`, () => this.coordinateWrite(partition, key, mutation, context, w, timeoutMs, replicas));
        return { type: 'coordinate_write_ok', object: written.bytes } satisfies CoordinateWriteReply;
      }
      default:
        throw new RingkvError('UNKNOWN_MESSAGE', `unknown internode message type ${JSON.stringify(String(msg.type)).slice(0, 80)}`);
    }
  }

  // ---- parameter checks ------------------------------------------------------------------------

  private checkKey(key: Uint8Array): void {
    if (key.length === 0) throw new RingkvError('BAD_PARAMETER', 'key must not be empty');
    if (key.length > this.config.maxKeyBytes) {
      throw new RingkvError('KEY_TOO_LARGE', `key is ${key.length} bytes; the limit is ${this.config.maxKeyBytes} bytes (maxKeyBytes)`);
    }
  }

  private quorumParam(name: 'r' | 'w', value: number): number {
    if (!Number.isInteger(value) || value < 1 || value > this.config.n) {
      throw new RingkvError('BAD_PARAMETER', `${name}=${value} is out of range: it must be an integer from 1 to n=${this.config.n}`);
    }
    return value;
  }

  private timeoutParam(value: number | undefined): number {
    const t = value ?? this.config.requestTimeoutMs;
    if (!Number.isInteger(t) || t < 1 || t > 600_000) throw new RingkvError('BAD_PARAMETER', `timeout_ms=${t} is out of range: it must be an integer from 1 to 600000`);
    return t;
  }
}

function mergeAll(objects: Array<VersionedObject | undefined>): VersionedObject | undefined {
  let merged: VersionedObject | undefined;
  for (const o of objects) if (o) merged = merged ? syncObjects(merged, o) : o;
  return merged;
}

function mergedCounter(obj: VersionedObject): PnCounter {
  let c: PnCounter = [];
  for (const s of liveSiblings(obj)) if (s.value.kind === 'counter') c = pnMerge(c, s.value.counter);
  return c;
}

/** Live siblings as front ends see them; counter siblings fold into one counter (per-node max). */
function toViews(obj: VersionedObject): SiblingView[] {
  const views: SiblingView[] = [];
  let counter: { c: PnCounter; wallMs: number; logical: number; writer: string } | undefined;
  const live = liveSiblings(obj).slice().sort((a, b) => a.hlc.wallMs - b.hlc.wallMs || a.hlc.logical - b.hlc.logical || (a.dot.node < b.dot.node ? -1 : 1));
  for (const s of live) {
    if (s.value.kind === 'bytes') {
      views.push({ kind: 'bytes', value: s.value.bytes, hlcWallMs: s.hlc.wallMs, hlcLogical: s.hlc.logical, writer: s.dot.node });
    } else if (s.value.kind === 'counter') {
      counter = { c: pnMerge(counter?.c ?? [], s.value.counter), wallMs: s.hlc.wallMs, logical: s.hlc.logical, writer: s.dot.node };
    }
  }
  if (counter) {
    views.push({ kind: 'counter', value: Buffer.from(pnValue(counter.c).toString(), 'latin1'), hlcWallMs: counter.wallMs, hlcLogical: counter.logical, writer: counter.writer });
  }
  return views;
}

function contextFromMessage(msg: Message): CausalContext {
  const token = { vv: msg.context, dots: msg.dots };
  if (!Array.isArray(token.vv) || !Array.isArray(token.dots)) throw bad('context missing');
  // Reuse the object validator's rules for vv entries by validating a sibling-free object.
  const checked = validateObject({ vv: token.vv, siblings: [] }, 'coordinate_write context');
  for (const d of token.dots as unknown[]) {
    const dot = d as { node?: unknown; counter?: unknown };
    if (typeof dot?.node !== 'string' || typeof dot.counter !== 'number' || !Number.isSafeInteger(dot.counter) || dot.counter < 1) throw bad('bad dot in context');
  }
  return { vv: checked.vv, dots: token.dots as CausalContext['dots'] };
}

function mutationFromMessage(msg: Message, maxValueBytes: number): Mutation {
  const m = msg.mutation as Record<string, any> | undefined;
  if (m?.kind === 'increment' && typeof m.delta === 'string' && /^-?\d{1,20}$/.test(m.delta)) return { kind: 'increment', delta: m.delta };
  if (m?.kind === 'set') {
    const v = m.value;
    if (v?.kind === 'tombstone') return { kind: 'set', value: { kind: 'tombstone' } };
    if (v?.kind === 'bytes' && v.bytes instanceof Uint8Array && v.bytes.length <= maxValueBytes) return { kind: 'set', value: { kind: 'bytes', bytes: v.bytes } };
  }
  throw bad('mutation missing or malformed');
}
