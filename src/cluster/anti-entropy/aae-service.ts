import { RingkvError, toRingkvError } from '../../core/errors.js';
import type { NodeId } from '../../core/member.js';
import { sameVersion, syncObjects, type VersionedObject } from '../../core/version/versioned-object.js';
import type { Engine } from '../../storage/engine.js';
import { ACK, bad, requireInt, requireKey } from '../messages.js';
import { decodeObject, encodeObject } from '../object-codec.js';
import type { Replica } from '../replica.js';
import type { Clock, Logger, Message, Random, TimerHandle, Transport } from '../runtime.js';
import {
  MAX_KEYS_PER_PAGE,
  requireBytes,
  requireIntList,
  requireKeyList,
  type AaeBranchesMsg,
  type AaeBranchesReply,
  type AaeFetchMsg,
  type AaeFetchReply,
  type AaeKeysMsg,
  type AaeKeysReply,
  type AaePushMsg,
} from './aae-messages.js';
import type { AaeTrees } from './aae-trees.js';
import { ByteRateLimiter } from './byte-rate-limiter.js';

export interface AaeConfig {
  /** run scheduled exchanges @default true */
  aaeEnabled: boolean;
  /** every replica pair of every partition is exchanged within this period @default 600000 */
  aaeExchangePeriodMs: number;
  /** every tree is rebuilt from a scan within this period (jittered), to catch disk-level rot @default 604800000 */
  aaeRebuildPeriodMs: number;
  /** repair traffic (objects pushed and pulled) per second, per node @default 16777216 */
  aaeRepairBytesPerSec: number;
  /** per-request timeout of exchange messages @default 10000 */
  aaeRequestTimeoutMs: number;
}

/** what anti-entropy needs to know of the ring */
export interface AaePlacement {
  /** Q */
  partitions: number;
  /** the N replicas of a partition */
  replicasOf(partition: number): readonly NodeId[];
}

export interface AaeDeps {
  self: NodeId;
  clock: Clock;
  random: Random;
  transport: Transport;
  engine: Engine;
  replica: Replica;
  trees: AaeTrees;
  logger: Logger;
  maxKeyBytes: number;
  placement(): AaePlacement;
}

export interface ExchangeResult {
  partition: number;
  peer: NodeId;
  /** false when the peer's tree was not ready (nothing compared) */
  compared: boolean;
  differingSegments: number;
  keysCompared: number;
  /** objects sent to the peer / taken from it */
  pushed: number;
  pulled: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface AaeStats {
  exchanges: number;
  exchangesFailed: number;
  exchangesInSync: number;
  segmentsDiffering: number;
  keysPushed: number;
  keysPulled: number;
  bytesSent: number;
  bytesReceived: number;
  /** a full repair (start-up after lost state, or asked for): partitions done of total */
  fullRepairDone: number;
  fullRepairTotal: number;
}

/** keys of one page of aae_keys, and objects per push/fetch batch (bounded by bytes too) */
const KEYS_PER_PAGE = 2_000;
const BATCH_BYTES = 256 * 1024;
const BATCH_KEYS = 1_000;
const EMPTY = new Uint8Array(0);

/**
 * Active anti-entropy between the replicas of each partition (tictac AAE): trees kept up to date on
 * every write (AaeTrees), compared on a schedule so that every replica pair of every partition meets
 * within aaeExchangePeriodMs; an exchange compares branch hashes, then leaves of the branches that
 * differ, then keys and version clocks of the segments that differ, and moves only the objects one
 * side lacks or holds stale — one way where only one side is behind. One exchange at a time per node,
 * repair traffic under a byte-rate limit, so it never saturates a disk or the event loop.
 *
 * A node whose identity says it may have lost state (a new or replaced data directory, an unclean
 * stop, engine data loss) exchanges every partition at once when it starts.
 */
export class AntiEntropy {
  private readonly limiter: ByteRateLimiter;
  private timer: TimerHandle | undefined;
  private rebuildTimer: TimerHandle | undefined;
  private stopped = false;
  private running: Promise<unknown> = Promise.resolve();
  private pairCursor = 0;
  /** a scheduled exchange is queued or running */
  private scheduledQueued = false;
  readonly stats: AaeStats = {
    exchanges: 0,
    exchangesFailed: 0,
    exchangesInSync: 0,
    segmentsDiffering: 0,
    keysPushed: 0,
    keysPulled: 0,
    bytesSent: 0,
    bytesReceived: 0,
    fullRepairDone: 0,
    fullRepairTotal: 0,
  };

  constructor(
    private readonly deps: AaeDeps,
    private readonly config: AaeConfig,
  ) {
    this.limiter = new ByteRateLimiter(deps.clock, config.aaeRepairBytesPerSec);
  }

  /** starts the schedule; with lostState, first exchanges every partition this node replicates */
  start(opts: { lostState: boolean }): void {
    // repairAll queues its own work (calling it from inside the queue would wait on itself)
    if (opts.lostState) void this.repairAll('this node may have lost state').catch(() => undefined);
    else void this.enqueue(() => this.rebuildAll()).catch(() => undefined);
    if (this.config.aaeEnabled) this.scheduleNextExchange();
    this.scheduleRebuild();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.rebuildTimer?.cancel();
  }

  /** partitions this node replicates */
  myPartitions(): number[] {
    const placement = this.deps.placement();
    const out: number[] = [];
    for (let p = 0; p < placement.partitions; p++) if (placement.replicasOf(p).includes(this.deps.self)) out.push(p);
    return out;
  }

  /**
   * Exchanges every partition this node replicates with each other replica, now (one at a time).
   * Resolves with the results; progress is in stats.fullRepairDone / fullRepairTotal.
   */
  repairAll(reason: string, only?: number): Promise<ExchangeResult[]> {
    return this.enqueue(async () => {
      const partitions = only === undefined ? this.myPartitions() : [only];
      this.stats.fullRepairTotal = partitions.length;
      this.stats.fullRepairDone = 0;
      this.deps.logger.info({ partitions: partitions.length, reason }, 'anti-entropy: exchanging every partition');
      const results: ExchangeResult[] = [];
      for (const p of partitions) {
        if (this.stopped) break;
        for (const peer of this.deps.placement().replicasOf(p)) {
          if (peer === this.deps.self) continue;
          const r = await this.exchangeSafely(p, peer);
          if (r) results.push(r);
        }
        this.stats.fullRepairDone++;
      }
      const moved = results.reduce((n, r) => n + r.pushed + r.pulled, 0);
      this.deps.logger.info({ partitions: partitions.length, exchanges: results.length, objectsMoved: moved }, 'anti-entropy: full exchange done');
      return results;
    });
  }

  /** one exchange of a partition with one peer, now (queued behind a running one) */
  exchangeNow(partition: number, peer: NodeId): Promise<ExchangeResult> {
    return this.enqueue(() => this.exchange(partition, peer));
  }

  // ---- the schedule ------------------------------------------------------------------------------

  /** the pairs this node starts: per partition, each other replica with a larger id (the smaller id initiates) */
  private myPairs(): Array<{ partition: number; peer: NodeId }> {
    const pairs: Array<{ partition: number; peer: NodeId }> = [];
    const placement = this.deps.placement();
    for (const p of this.myPartitions()) for (const q of placement.replicasOf(p)) if (q > this.deps.self) pairs.push({ partition: p, peer: q });
    return pairs;
  }

  private scheduleNextExchange(): void {
    if (this.stopped) return;
    const pairs = this.myPairs();
    const every = this.config.aaeExchangePeriodMs / Math.max(1, pairs.length);
    // ±20 % jitter so nodes do not fall into step
    const delay = Math.max(1, every * (0.8 + 0.4 * this.deps.random.next()));
    this.timer = this.deps.clock.setTimer(delay, () => {
      const now = this.myPairs();
      // one scheduled exchange queued at a time: exchanges slower than the schedule (a peer down, each
      // one waiting out its timeout) must not pile up ahead of transfers and repairs without bound
      if (now.length > 0 && !this.scheduledQueued) {
        const { partition, peer } = now[this.pairCursor++ % now.length];
        this.scheduledQueued = true;
        void this.enqueue(() => this.exchangeSafely(partition, peer)).finally(() => (this.scheduledQueued = false));
      }
      this.scheduleNextExchange();
    });
  }

  private scheduleRebuild(): void {
    if (this.stopped) return;
    const delay = this.config.aaeRebuildPeriodMs * (0.9 + 0.2 * this.deps.random.next());
    this.rebuildTimer = this.deps.clock.setTimer(delay, () => {
      void this.enqueue(() => this.rebuildAll());
      this.scheduleRebuild();
    });
  }

  private async rebuildAll(): Promise<void> {
    for (const p of this.myPartitions()) {
      if (this.stopped) return;
      await this.rebuild(p);
    }
  }

  private async rebuild(partition: number): Promise<void> {
    await this.deps.trees.rebuild(partition);
  }

  /** one piece of anti-entropy work at a time */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.running.then(work, work);
    this.running = next.catch(() => undefined);
    return next;
  }

  private async exchangeSafely(partition: number, peer: NodeId): Promise<ExchangeResult | undefined> {
    try {
      return await this.exchange(partition, peer);
    } catch (e) {
      this.stats.exchangesFailed++;
      this.deps.logger.debug({ partition, peer, err: toRingkvError(e).message }, 'anti-entropy exchange failed');
      return undefined;
    }
  }

  // ---- initiator ---------------------------------------------------------------------------------

  private async exchange(partition: number, peer: NodeId): Promise<ExchangeResult> {
    const { trees, transport } = this.deps;
    const timeoutMs = this.config.aaeRequestTimeoutMs;
    const result: ExchangeResult = { partition, peer, compared: false, differingSegments: 0, keysCompared: 0, pushed: 0, pulled: 0, bytesSent: 0, bytesReceived: 0 };
    let tree = trees.ready(partition);
    if (!tree) {
      await this.rebuild(partition);
      tree = trees.ready(partition);
      if (!tree) throw new RingkvError('INTERNAL', `partition ${partition}: tree not ready`);
    }
    const branches = tree.branches();
    const msg: AaeBranchesMsg = { type: 'aae_branches', partition, leafCount: tree.leafCount, fanout: tree.fanout, branches };
    result.bytesSent += branches.length;
    const reply = (await transport.request(peer, msg, timeoutMs)) as AaeBranchesReply;
    if (reply.type !== 'aae_branches_ok') throw bad(`unexpected reply ${reply.type} to aae_branches`);
    this.stats.exchanges++;
    if (reply.ready !== true) return this.account(result);
    result.compared = true;
    const branchIds = requireIntList(reply.branchIds, 'branchIds', tree.branchCount, tree.branchCount);
    if (branchIds.length === 0) {
      this.stats.exchangesInSync++;
      return this.account(result);
    }
    const leaves = requireBytes(reply, 'leaves', tree.leafCount * 8);
    result.bytesReceived += leaves.length;
    const segments = tree.differingSegments(branchIds, leaves);
    result.differingSegments = segments.length;
    if (segments.length === 0) {
      this.stats.exchangesInSync++;
      return this.account(result);
    }
    const remote = await this.remoteClocks(peer, partition, segments, result);
    const local = await this.localObjects(partition, new Set(segments));
    const toPush: Array<{ key: Uint8Array; bytes: Uint8Array }> = [];
    const toPull: Uint8Array[] = [];
    for (const [slot, mine] of local) {
      const theirs = remote.get(slot);
      result.keysCompared++;
      if (!theirs) toPush.push({ key: mine.key, bytes: mine.bytes });
      else {
        const merged = syncObjects(clockOf(mine.object), theirs.clock);
        const iHaveAll = sameVersion(merged, clockOf(mine.object));
        const theyHaveAll = sameVersion(merged, theirs.clock);
        if (iHaveAll && !theyHaveAll) toPush.push({ key: mine.key, bytes: mine.bytes });
        else if (!iHaveAll) toPull.push(mine.key); // pulled, merged, and pushed back when they lack something too
      }
      remote.delete(slot);
    }
    for (const theirs of remote.values()) {
      result.keysCompared++;
      toPull.push(theirs.key);
    }
    await this.pull(peer, partition, toPull, toPush, result);
    await this.push(peer, partition, toPush, result);
    return this.account(result);
  }

  /** the peer's keys and clocks in the given segments, paged */
  private async remoteClocks(peer: NodeId, partition: number, segments: number[], result: ExchangeResult): Promise<Map<string, { key: Uint8Array; clock: VersionedObject }>> {
    const out = new Map<string, { key: Uint8Array; clock: VersionedObject }>();
    let after: Uint8Array | undefined;
    for (;;) {
      const msg: AaeKeysMsg = { type: 'aae_keys', partition, segments, limit: KEYS_PER_PAGE, ...(after ? { after } : {}) };
      const reply = (await this.deps.transport.request(peer, msg, this.config.aaeRequestTimeoutMs)) as AaeKeysReply;
      if (reply.type !== 'aae_keys_ok' || !Array.isArray(reply.entries) || reply.entries.length > MAX_KEYS_PER_PAGE) throw bad('malformed aae_keys reply');
      for (const e of reply.entries) {
        const key = requireKey({ type: 'entry', key: e?.key }, this.deps.maxKeyBytes);
        const clockBytes = requireBytes(e as unknown as Message, 'clock', 64 * 1024 * 1024);
        result.bytesReceived += key.length + clockBytes.length;
        out.set(slotOf(key), { key, clock: decodeObject(clockBytes, peer) });
      }
      if (reply.next === undefined) return out;
      after = requireKey({ type: 'next', key: reply.next }, this.deps.maxKeyBytes);
    }
  }

  /** this node's objects (and their bytes) in the given segments of a partition */
  private async localObjects(partition: number, segments: Set<number>): Promise<Map<string, { key: Uint8Array; object: VersionedObject; bytes: Uint8Array }>> {
    const out = new Map<string, { key: Uint8Array; object: VersionedObject; bytes: Uint8Array }>();
    for await (const e of this.deps.engine.scan(partition, partition + 1)) {
      if (!segments.has(this.deps.trees.segmentOf(e.key))) continue;
      out.set(slotOf(e.key), { key: e.key, object: decodeObject(e.value, `engine (partition ${partition})`), bytes: e.value });
    }
    return out;
  }

  /** takes the peer's objects for keys, merges them here; keys whose merge holds more than the peer's are pushed back */
  private async pull(peer: NodeId, partition: number, keys: Uint8Array[], toPush: Array<{ key: Uint8Array; bytes: Uint8Array }>, result: ExchangeResult): Promise<void> {
    for (let i = 0; i < keys.length; i += BATCH_KEYS) {
      const batch = keys.slice(i, i + BATCH_KEYS);
      const reply = (await this.deps.transport.request(peer, { type: 'aae_fetch', partition, keys: batch } satisfies AaeFetchMsg, this.config.aaeRequestTimeoutMs)) as AaeFetchReply;
      if (reply.type !== 'aae_fetch_ok' || !Array.isArray(reply.objects) || reply.objects.length !== batch.length) throw bad('malformed aae_fetch reply');
      for (let j = 0; j < batch.length; j++) {
        const bytes = reply.objects[j];
        if (bytes === null) continue;
        if (!(bytes instanceof Uint8Array)) throw bad('malformed aae_fetch object');
        await this.limiter.take(bytes.length);
        result.bytesReceived += bytes.length;
        const theirs = decodeObject(bytes, peer);
        const merged = await this.deps.replica.merge(partition, batch[j], theirs, bytes);
        result.pulled++;
        if (!sameVersion(merged.object, theirs)) toPush.push({ key: batch[j], bytes: merged.bytes });
      }
    }
  }

  /** sends objects for the peer to merge, in batches bounded by keys and bytes */
  private async push(peer: NodeId, partition: number, objects: Array<{ key: Uint8Array; bytes: Uint8Array }>, result: ExchangeResult): Promise<void> {
    let batch: AaePushMsg['entries'] = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const reply = await this.deps.transport.request(peer, { type: 'aae_push', partition, entries: batch } satisfies AaePushMsg, this.config.aaeRequestTimeoutMs);
      if (reply.type !== 'ack') throw bad(`unexpected reply ${reply.type} to aae_push`);
      result.pushed += batch.length;
      result.bytesSent += batchBytes;
      batch = [];
      batchBytes = 0;
    };
    for (const o of objects) {
      await this.limiter.take(o.bytes.length);
      batch.push({ key: o.key, object: o.bytes });
      batchBytes += o.key.length + o.bytes.length;
      if (batch.length >= BATCH_KEYS || batchBytes >= BATCH_BYTES) await flush();
    }
    await flush();
  }

  private account(r: ExchangeResult): ExchangeResult {
    this.stats.segmentsDiffering += r.differingSegments;
    this.stats.keysPushed += r.pushed;
    this.stats.keysPulled += r.pulled;
    this.stats.bytesSent += r.bytesSent;
    this.stats.bytesReceived += r.bytesReceived;
    if (r.pushed + r.pulled > 0) this.deps.logger.info({ ...r }, 'anti-entropy repaired keys');
    return r;
  }

  // ---- responder ---------------------------------------------------------------------------------

  /** answers an anti-entropy message from a peer (validated first) */
  async handle(from: NodeId, msg: Message): Promise<Message> {
    const placement = this.deps.placement();
    const partition = requireInt(msg, 'partition', 0, placement.partitions - 1);
    if (!placement.replicasOf(partition).includes(this.deps.self)) throw bad(`node ${this.deps.self} does not replicate partition ${partition}`);
    const { trees, engine } = this.deps;
    switch (msg.type) {
      case 'aae_branches': {
        // a tree not built yet is built now (one partition's scan); the initiator's timeout bounds the wait
        const tree = trees.ready(partition) ?? (await trees.rebuild(partition).catch(() => undefined));
        if (!tree) return { type: 'aae_branches_ok', ready: false } satisfies AaeBranchesReply;
        if (msg.leafCount !== tree.leafCount || msg.fanout !== tree.fanout) throw bad(`tree shape ${String(msg.leafCount)}/${String(msg.fanout)} differs from ours (${tree.leafCount}/${tree.fanout})`);
        const branchIds = tree.differingBranches(requireBytes(msg, 'branches', tree.branchCount * 8));
        return { type: 'aae_branches_ok', ready: true, branchIds, leaves: branchIds.length ? tree.leavesOf(branchIds) : EMPTY } satisfies AaeBranchesReply;
      }
      case 'aae_keys': {
        const segments = new Set(requireIntList(msg.segments, 'segments', trees.leafCount, trees.leafCount));
        const limit = requireInt(msg, 'limit', 1, MAX_KEYS_PER_PAGE);
        const after = msg.after === undefined ? undefined : requireKey({ type: 'after', key: msg.after }, this.deps.maxKeyBytes);
        const entries: AaeKeysReply['entries'] = [];
        for await (const e of engine.scan(partition, partition + 1)) {
          if (after && Buffer.compare(e.key, after) <= 0) continue;
          if (!segments.has(trees.segmentOf(e.key))) continue;
          if (entries.length === limit) return { type: 'aae_keys_ok', entries, next: entries[entries.length - 1].key } satisfies AaeKeysReply;
          entries.push({ key: e.key, clock: encodeObject(clockOf(decodeObject(e.value, `engine (partition ${partition})`))) });
        }
        return { type: 'aae_keys_ok', entries } satisfies AaeKeysReply;
      }
      case 'aae_fetch': {
        const keys = requireKeyList(msg.keys, this.deps.maxKeyBytes);
        const objects: Array<Uint8Array | null> = [];
        for (const key of keys) objects.push((await this.deps.replica.readEncoded(partition, key)) ?? null);
        return { type: 'aae_fetch_ok', objects } satisfies AaeFetchReply;
      }
      case 'aae_push': {
        if (!Array.isArray(msg.entries) || msg.entries.length > MAX_KEYS_PER_PAGE) throw bad('entries missing or too many');
        for (const e of msg.entries as unknown[]) {
          const entry = e as Message;
          const key = requireKey({ type: 'entry', key: entry?.key }, this.deps.maxKeyBytes);
          const bytes = requireBytes(entry, 'object', 64 * 1024 * 1024);
          await this.deps.replica.merge(partition, key, decodeObject(bytes, from), bytes);
        }
        return ACK;
      }
      default:
        throw new RingkvError('UNKNOWN_MESSAGE', `unknown anti-entropy message ${JSON.stringify(String(msg.type)).slice(0, 80)}`);
    }
  }
}

/** an object's version clock: the object with its values left out (what an exchange compares) */
export function clockOf(obj: VersionedObject): VersionedObject {
  return { ...obj, siblings: obj.siblings.map((s) => ({ dot: s.dot, hlc: s.hlc, value: { kind: 'bytes', bytes: EMPTY } })) };
}

function slotOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
