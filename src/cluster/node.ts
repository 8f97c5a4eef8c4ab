import { RingkvError } from '../core/errors.js';
import type { Member, NodeId } from '../core/member.js';
import { partitionOf } from '../core/hash.js';
import { decodeContext, encodeContext } from '../core/version/context-token.js';
import { pnMerge, pnValueAbove, type PnCounter } from '../core/version/pn-counter.js';
import { contextOfRead, contextOfWrite, counterValue, liveSiblings, type VersionedObject } from '../core/version/versioned-object.js';
import type { Engine } from '../storage/engine.js';
import { AaeTrees } from './anti-entropy/aae-trees.js';
import { AntiEntropy } from './anti-entropy/aae-service.js';
import { DEFAULT_BRANCH_FANOUT, DEFAULT_LEAVES } from '../core/aae/tictac-tree.js';
import { checkClientWriteId } from './client-write-id.js';
import type { ClusterConfig } from './cluster-config.js';
import type { GetResult, KvService, PutResult, ReadOptions, SiblingView, WriteOptions } from './kv-service.js';
import type { Mutation } from './messages.js';
import { NodeIdentity } from './node-identity.js';
import { ReadCoordinator } from './read-coordinator.js';
import { RecentWrites } from './recent-writes.js';
import { Replica } from './replica.js';
import { ReplicaHandlers } from './replica-handlers.js';
import type { ReplicationObserver } from './replication-observer.js';
import { ReplicationStats } from './replication-stats.js';
import { HintStore } from './hints/hint-store.js';
import { HintReplayer } from './hints/hint-replayer.js';
import { TombstoneReaper } from './tombstones/tombstone-reaper.js';
import { RingView, type RingState } from './ring-view.js';
import { ClusterMembership, type MembershipSettings } from './cluster-membership.js';
import { MessageRouter } from './message-router.js';
import { PartitionTransfers } from './transfers/partition-transfers.js';
import { silentLogger, type Clock, type Logger, type Message, type Random, type Transport } from './runtime.js';
import { WriteCoordinator, type Placement, type WriteOutcome } from './write-coordinator.js';

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
  /** gossip membership (failure detection, ring changes, transfers); absent = the static `members` */
  membership?: MembershipSettings;
  /** transfers: how long a partition handed away keeps serving before its data is dropped @default 60000 */
  drainGraceMs?: number;
  /**
   * without gossip membership: who is live (tests drive sloppy quorums and hinted handoff with it);
   * absent = every member is
   */
  liveness?: (id: NodeId) => boolean;
  /** request latencies and PBS legs, for metrics and the node status (src/ops); absent in the simulator */
  observer?: ReplicationObserver;
}

/**
 * A ringkv node's cluster behaviour: it coordinates any request for any key (reads:
 * read-coordinator.ts; writes: write-coordinator.ts), and serves as a replica for the keys the ring
 * gives it (replica.ts, answering peers through replica-handlers.ts).
 */
export class ClusterNode implements KvService {
  readonly self: NodeId;
  readonly config: ClusterConfig;
  readonly stats = new ReplicationStats();
  readonly identity: NodeIdentity;
  readonly recentWrites: RecentWrites;
  readonly antiEntropy: AntiEntropy;
  readonly hints: HintStore;
  readonly reaper: TombstoneReaper;
  private ringChangedAtMs: number;
  private readonly replica: Replica;
  hintReplayer: HintReplayer | undefined;
  readonly transfers: PartitionTransfers;
  readonly router: MessageRouter;
  /** the gossip membership, once started (undefined for a static cluster) */
  cluster: ClusterMembership | undefined;
  readonly ringView: RingView;
  private readonly transport: Transport;
  private readonly logger: Logger;
  private readonly reads: ReadCoordinator;
  private readonly writes: WriteCoordinator;
  private readonly handlers: ReplicaHandlers;
  private stopped = false;
  /** an operator removed this node: it must not serve (its data may be stale for ever) */
  private removed = false;
  private readonly deps: ClusterNodeDeps;

  constructor(deps: ClusterNodeDeps) {
    this.deps = deps;
    this.self = deps.self;
    this.config = deps.config;
    this.transport = deps.transport;
    this.logger = deps.logger ?? silentLogger;
    if (!deps.members.some((m) => m.id === deps.self)) throw new RingkvError('BAD_PARAMETER', `node ${deps.self} is not in the member list`);
    this.ringView = RingView.of(deps.members, deps.config.partitions);
    this.identity = deps.identity ?? NodeIdentity.ephemeral(deps.self, deps.random);
    this.recentWrites = new RecentWrites({ maxBytes: deps.config.writeDedupMaxBytes, maxAgeMs: deps.config.writeDedupMaxAgeMs }, deps.clock.monotonicMs());
    this.hints = new HintStore(deps.engine, { maxAgeMs: deps.config.hintWindowMs, maxBytesPerTarget: deps.config.hintMaxBytesPerTarget }, this.logger);
    const trees = new AaeTrees(deps.engine, DEFAULT_LEAVES, DEFAULT_BRANCH_FANOUT, () => replica);
    const replica: Replica = (this.replica = new Replica(deps.engine, deps.clock, deps.config, this.logger, this.identity, this.stats, (p, key, before, after) =>
      trees.onStored(p, key, before, after),
    ));
    const observer = deps.observer ? { observer: deps.observer } : {};
    const common = { self: deps.self, clock: deps.clock, transport: deps.transport, replica, stats: this.stats, logger: this.logger, epoch: () => this.ringView.current.epoch, ...observer };
    this.reads = new ReadCoordinator(common);
    this.writes = new WriteCoordinator({
      ...common,
      config: deps.config,
      random: deps.random,
      recentWrites: this.recentWrites,
      isLive: (id) => this.isLive(id),
      hints: this.hints,
    });
    this.handlers = new ReplicaHandlers({
      self: deps.self,
      config: deps.config,
      clock: deps.clock,
      replica,
      writes: this.writes,
      recentWrites: this.recentWrites,
      partitions: () => this.ringView.current.ring.partitions,
      placementOf: (key) => this.placementOf(key),
      holds: (p) => this.holds(p),
      hints: this.hints,
      epoch: () => this.ringView.current.epoch,
      ...observer,
    });
    this.antiEntropy = new AntiEntropy(
      {
        self: deps.self,
        clock: deps.clock,
        random: deps.random,
        transport: deps.transport,
        engine: deps.engine,
        replica,
        trees,
        logger: this.logger,
        maxKeyBytes: deps.config.maxKeyBytes,
        placement: () => {
          const { ring } = this.ringView.current;
          return { partitions: ring.partitions, replicasOf: (p) => ring.preferenceList(p, this.config.n).primaries };
        },
      },
      deps.config,
    );
    this.transfers = new PartitionTransfers(
      {
        self: deps.self,
        view: this.ringView,
        antiEntropy: this.antiEntropy,
        membership: () => this.cluster,
        dropPartition: async (p) => {
          const keys = await replica.dropPartition(p);
          trees.drop(p);
          return keys;
        },
        storesAny: async (p) => {
          for await (const _ of deps.engine.scan(p, p + 1)) return true;
          return false;
        },
        clock: deps.clock,
        logger: this.logger,
      },
      { n: deps.config.n, requestTimeoutMs: deps.config.requestTimeoutMs, drainGraceMs: deps.drainGraceMs ?? 60_000, stallAfterMs: 60_000 },
    );
    this.router = new MessageRouter({ logger: this.logger });
    this.router.setFallback((from, msg) => this.handle(from, msg));
    this.ringChangedAtMs = deps.clock.monotonicMs();
    this.ringView.onChange(() => (this.ringChangedAtMs = deps.clock.monotonicMs()));
    this.reaper = new TombstoneReaper(
      {
        self: deps.self,
        engine: deps.engine,
        replica: this.replica,
        transport: deps.transport,
        clock: deps.clock,
        random: deps.random,
        logger: this.logger,
        isLive: (id) => this.isLive(id),
        stablePrimaries: (p) => (this.ringView.current.pending ? undefined : this.ringView.current.ring.preferenceList(p, this.config.n).primaries),
        partitions: () => this.ringView.current.ring.partitions,
        ringChangedAtMs: () => this.ringChangedAtMs,
      },
      {
        tombstoneGraceMs: deps.config.tombstoneGraceMs,
        reapIntervalMs: deps.config.reapIntervalMs,
        ringStableMs: 2 * (deps.drainGraceMs ?? 60_000),
        requestTimeoutMs: deps.config.requestTimeoutMs,
        reapBatch: 500,
      },
    );
    this.reaper.register(this.router, deps.config.maxKeyBytes);
    for (const warning of this.healthWarnings()) this.logger.warn({ n: deps.config.n, members: deps.members.length }, warning);
  }

  /**
   * Starts serving peers; with gossip membership, opens it first (its stored ring, or the first ring
   * of the configured members, becomes the placement) and resumes any transfers of a ring change.
   */
  async start(): Promise<void> {
    this.router.attach(this.transport);
    const settings = this.deps.membership;
    if (settings) {
      const selfMember = this.deps.members.find((m) => m.id === this.self)!;
      this.cluster = await ClusterMembership.open({
        self: selfMember,
        others: this.deps.members.filter((m) => m.id !== this.self),
        identity: this.identity,
        partitions: this.config.partitions,
        n: this.config.n,
        settings,
        clock: this.deps.clock,
        random: this.deps.random,
        transport: this.transport,
        router: this.router,
        logger: this.logger,
        view: this.ringView,
      });
      this.cluster.membership.onEvent((e) => {
        if (e.kind === 'removed') {
          this.removed = true;
          this.logger.error({}, 'this node was removed from the cluster by an operator: it stops serving');
        }
      });
      this.ringView.onChange((next) => this.finishLeaveIfDone(next));
      this.transfers.resume();
      this.cluster.membership.start();
    }
    // hinted handoff needs a view of who is down: gossip, or a test's liveness
    if (settings || this.deps.liveness) {
      await this.hints.open();
      this.hintReplayer = new HintReplayer(
        {
          self: this.self,
          store: this.hints,
          transport: this.transport,
          replica: this.replica,
          clock: this.deps.clock,
          logger: this.logger,
          isLive: (id) => this.isLive(id),
          isGone: (id) => this.cluster?.membership.statusOf(id) === 'left',
          replicasOf: (p) => this.replicasNow(p),
        },
        { hintReplayObjectsPerSec: this.config.hintReplayObjectsPerSec, hintSweepMs: 1000, requestTimeoutMs: this.config.requestTimeoutMs },
      );
      this.cluster?.membership.onEvent((e) => {
        if (e.kind === 'member' && e.current.status === 'up' && e.previous?.status !== 'up') this.hintReplayer?.onMemberUp(e.id);
      });
      this.hintReplayer.start();
    }
    if (this.config.aaeEnabled) this.antiEntropy.start({ lostState: this.identity.mayHaveLostState });
    // reaping needs to know every replica is live: gossip, or a test's liveness
    if (settings || this.deps.liveness) this.reaper.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.antiEntropy.stop();
    this.transfers.stop();
    this.hintReplayer?.stop();
    this.reaper.stop();
    // a graceful stop tells the peers at once (they need not wait for the detector)
    await this.cluster?.membership.stop({ announce: true });
  }

  /** Starts a graceful leave: the claimant hands this node's partitions to others, then it is `left`. */
  leave(): void {
    if (!this.cluster) throw new RingkvError('BAD_PARAMETER', 'this node runs with a static member list: nothing to leave');
    this.cluster.membership.leave();
  }

  /** An operator's remove of a (normally dead) member: the surviving replicas rebuild its partitions on new owners. */
  remove(id: NodeId): void {
    if (!this.cluster) throw new RingkvError('BAD_PARAMETER', 'this node runs with a static member list: nothing to remove');
    this.cluster.membership.remove(id);
  }

  /** the end of a leave: once no ring (current or pending) holds this leaving node, it is `left` */
  private finishLeaveIfDone(next: RingState): void {
    const m = this.cluster?.membership;
    if (!m || m.selfRow.status !== 'leaving') return;
    if (next.ring.hasMember(this.self) || next.pending?.hasMember(this.self)) return;
    this.logger.info({ epoch: next.epoch }, 'leave: every partition handed over; this node has left the cluster');
    m.left();
  }

  /** true when the node may serve requests: not removed, and it has a ring */
  private checkServing(): void {
    if (this.removed) throw new RingkvError('PEER_UNREACHABLE', `node ${this.self} was removed from the cluster and does not serve requests`);
    if (this.cluster?.joining) throw new RingkvError('PEER_UNREACHABLE', `node ${this.self} is joining the cluster and has not received its ring yet`);
  }

  // ---- KvService -------------------------------------------------------------------------------

  async get(key: Uint8Array, opts: ReadOptions = {}): Promise<GetResult> {
    this.checkKey(key);
    this.checkServing();
    const pr = opts.pr === undefined ? 0 : this.quorumParam('pr', opts.pr);
    // reads ask only primaries, so every answer is a primary's: pr raises r
    const r = Math.max(pr, this.quorumParam('r', opts.r ?? this.config.r));
    const timeoutMs = this.timeoutParam(opts.timeoutMs);
    const placement = this.placementOf(key);
    this.requireReplicas('r', r, placement);
    const merged = await this.reads.read(placement, key, r, timeoutMs);
    if (!merged) return { siblings: [], context: '' };
    return { siblings: toViews(merged), context: encodeContext(contextOfRead(merged), key) };
  }

  async put(key: Uint8Array, value: Uint8Array, opts: WriteOptions = {}): Promise<PutResult> {
    this.checkKey(key);
    if (value.length > this.config.maxValueBytes) {
      throw new RingkvError('VALUE_TOO_LARGE', `value is ${value.length} bytes; the limit is ${this.config.maxValueBytes} bytes (maxValueBytes)`);
    }
    if (opts.overwrite && opts.context) throw new RingkvError('BAD_PARAMETER', 'a write is either an overwrite or made with a context, not both');
    const context = decodeContext(opts.context, key);
    const written = await this.write(key, { kind: 'set', value: { kind: 'bytes', bytes: value }, ...(opts.overwrite ? { overwrite: true } : {}) }, opts, opts.context);
    return { context: encodeContext(contextOfWrite(written.dot, context), key) };
  }

  async delete(key: Uint8Array, opts: WriteOptions = {}): Promise<void> {
    this.checkKey(key);
    await this.write(key, { kind: 'set', value: { kind: 'tombstone' } }, opts, opts.context);
  }

  async increment(key: Uint8Array, delta: bigint, opts: Omit<WriteOptions, 'context'> = {}): Promise<bigint> {
    this.checkKey(key);
    const written = await this.write(key, { kind: 'increment', delta: delta.toString() }, opts, undefined);
    return counterValue(written.merged) ?? 0n;
  }

  private async write(key: Uint8Array, mutation: Mutation, opts: Omit<WriteOptions, 'context'>, contextToken: string | undefined): Promise<WriteOutcome> {
    const w = this.quorumParam('w', opts.w ?? this.config.w);
    const pw = opts.pw === undefined ? 0 : this.quorumParam('pw', opts.pw);
    const timeoutMs = this.timeoutParam(opts.timeoutMs);
    if (opts.writeId !== undefined) checkClientWriteId(opts.writeId);
    const context = decodeContext(contextToken, key);
    this.checkServing();
    const placement = this.placementOf(key);
    this.requireReplicas('w', w, placement);
    return this.writes.write(placement, { key, mutation, context, w, timeoutMs, ...(pw ? { pw } : {}), ...(opts.writeId !== undefined ? { clientWriteId: opts.writeId } : {}) });
  }

  // ---- introspection for the HTTP API ----------------------------------------------------------

  /** problems an operator should see in /health and the log */
  healthWarnings(): string[] {
    const warnings: string[] = [];
    const members = this.ringView.current.members.length;
    if (this.config.n > members) {
      warnings.push(`n=${this.config.n} but the cluster has ${members} member(s): every key has only ${members} replica(s), and requests with r or w above that fail`);
    }
    return warnings;
  }

  ringJson(): object {
    const n = this.config.n;
    const { ring, members, epoch, pending } = this.ringView.current;
    const partitions = [];
    const moves = [];
    const inbound = new Map(this.transfers.status().map((t) => [t.partition, t]));
    for (let p = 0; p < ring.partitions; p++) {
      const pl = ring.preferenceList(p, n);
      partitions.push({ partition: p, owner: ring.ownerOf(p), preferenceList: pl.primaries, fallbacks: pl.fallbacks });
      if (!pending) continue;
      const next = pending.preferenceList(p, n).primaries;
      const to = next.filter((id) => !pl.primaries.includes(id));
      if (to.length === 0) continue;
      // progress is known to the receiving node; other nodes show it as null
      const mine = to.includes(this.self) ? inbound.get(p) : undefined;
      moves.push({ partition: p, from: pl.primaries.filter((id) => !next.includes(id)), to, percent: mine ? mine.percent : null, ...(mine?.stalled ? { stalled: true, lastError: mine.lastError ?? null } : {}) });
    }
    return { Q: ring.partitions, N: n, epoch, members: members.map((m) => m.id), partitions, pending: moves };
  }

  membersJson(): object[] {
    if (this.cluster) return this.cluster.members();
    // a static member list: every configured member is reported up
    return this.ringView.current.members.map((m) => ({
      id: m.id,
      address: m.address,
      httpAddress: m.httpAddress ?? null,
      zone: m.zone ?? null,
      weight: m.weight,
      status: 'up',
      phi: 0,
      heartbeat: 0,
      incarnation: m.id === this.self ? this.identity.incarnation : null,
    }));
  }

  // ---- placement and peers ---------------------------------------------------------------------

  /** whether the failure detector believes a peer up (with a static member list, every peer is) */
  private isLive(id: NodeId): boolean {
    if (!this.cluster) return this.deps.liveness?.(id) ?? true;
    const status = this.cluster.membership.statusOf(id);
    return status === undefined || status === 'up' || status === 'leaving';
  }

  /** the replicas of a partition now: the current ring's, and the pending ring's during a change */
  private replicasNow(partition: number): NodeId[] {
    const { ring, pending } = this.ringView.current;
    const now = ring.preferenceList(partition, this.config.n).primaries;
    return pending ? [...new Set([...now, ...pending.preferenceList(partition, this.config.n).primaries])] : [...now];
  }

  /** a replica of the partition under the current or pending ring, or still serving it after handing it away */
  private holds(partition: number): boolean {
    const { ring, pending } = this.ringView.current;
    const n = this.config.n;
    return ring.preferenceList(partition, n).primaries.includes(this.self) || (pending?.preferenceList(partition, n).primaries.includes(this.self) ?? false) || this.transfers.isDraining(partition);
  }

  private placementOf(key: Uint8Array): Placement {
    const { ring, pending } = this.ringView.current;
    const partition = partitionOf(key, ring.partitions);
    const list = ring.preferenceList(partition, this.config.n);
    const replicas = list.primaries;
    const fallbacks = list.fallbacks;
    if (!pending) return { partition, replicas, fallbacks };
    const next = pending.preferenceList(partition, this.config.n).primaries;
    return next.length === replicas.length && next.every((id) => replicas.includes(id)) ? { partition, replicas, fallbacks } : { partition, replicas, fallbacks, pending: next };
  }

  private handle(from: NodeId, msg: Message): Promise<Message> {
    if (this.stopped || this.removed) return Promise.reject(new RingkvError('PEER_UNREACHABLE', `node ${this.self} is ${this.removed ? 'removed' : 'stopping'}`));
    if (typeof msg.type === 'string' && msg.type.startsWith('aae_')) return this.antiEntropy.handle(from, msg);
    return this.handlers.handle(from, msg);
  }

  // ---- parameter checks ------------------------------------------------------------------------

  private checkKey(key: Uint8Array): void {
    if (key.length === 0) throw new RingkvError('BAD_PARAMETER', 'key must not be empty');
    if (key.length > this.config.maxKeyBytes) {
      throw new RingkvError('KEY_TOO_LARGE', `key is ${key.length} bytes; the limit is ${this.config.maxKeyBytes} bytes (maxKeyBytes)`);
    }
  }

  private quorumParam(name: 'r' | 'w' | 'pr' | 'pw', value: number): number {
    if (!Number.isInteger(value) || value < 1 || value > this.config.n) {
      throw new RingkvError('BAD_PARAMETER', `${name}=${value} is out of range: it must be an integer from 1 to n=${this.config.n}`);
    }
    return value;
  }

  /** no silent caps: a quorum larger than the replicas that exist fails before anything is done */
  private requireReplicas(name: 'r' | 'w', value: number, placement: Placement): void {
    if (value > placement.replicas.length) {
      throw new RingkvError(
        'QUORUM_NOT_MET',
        `${name}=${value} cannot be met: only ${placement.replicas.length} replica(s) exist for this key (n=${this.config.n}, ${this.ringView.current.members.length} member(s)); nothing was ${name === 'w' ? 'written' : 'read'}`,
        { answered: 0, needed: value },
      );
    }
  }

  private timeoutParam(value: number | undefined): number {
    const t = value ?? this.config.requestTimeoutMs;
    if (!Number.isInteger(t) || t < 1 || t > 600_000) throw new RingkvError('BAD_PARAMETER', `timeout_ms=${t} is out of range: it must be an integer from 1 to 600000`);
    return t;
  }
}

/** Live siblings as front ends see them; counter siblings fold into one counter above the floor. */
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
    const value = pnValueAbove(counter.c, obj.counterFloor ?? []);
    views.push({ kind: 'counter', value: Buffer.from(value.toString(), 'latin1'), hlcWallMs: counter.wallMs, hlcLogical: counter.logical, writer: counter.writer });
  }
  return views;
}
