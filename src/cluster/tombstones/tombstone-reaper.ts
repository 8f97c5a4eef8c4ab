import { toRingkvError } from '../../core/errors.js';
import type { NodeId } from '../../core/member.js';
import { versionDigestText } from '../../core/aae/version-digest.js';
import type { VersionedObject } from '../../core/version/versioned-object.js';
import type { Engine } from '../../storage/engine.js';
import { bad, requireKey } from '../messages.js';
import type { MessageRouter } from '../message-router.js';
import { decodeObject } from '../object-codec.js';
import type { Replica } from '../replica.js';
import type { Clock, Logger, Message, Random, TimerHandle, Transport } from '../runtime.js';

export interface ReaperConfig {
  /** a deleted key is reaped only this long after its delete @default 864000000 (10 days) */
  tombstoneGraceMs: number;
  /** how often each node looks for tombstones to reap in the partitions it leads (jittered) @default 3600000 */
  reapIntervalMs: number;
  /** the ring must have been unchanged this long (transfers and hand-offs over) @default 300000 */
  ringStableMs: number;
  requestTimeoutMs: number;
  /** keys checked per batch @default 500 */
  reapBatch: number;
}

interface CheckMsg extends Message {
  type: 'tomb_check' | 'tomb_reap';
  partition: number;
  keys: Uint8Array[];
  /** per key, the version digest every replica must hold */
  digests: string[];
}

const MAX_BATCH = 5000;
const MAX_DIGEST_CHARS = 64 * 1024;

/**
 * Reaps tombstones — objects of deleted keys, with no live version left — only when that is safe:
 * - the delete is older than tombstoneGraceMs, which must exceed the hint window, so no hint holding a
 *   version the delete superseded can still be delivered afterwards (a Cassandra zombie);
 * - the ring has not changed for ringStableMs (no transfer or hand-off of the partition in flight);
 * - every primary replica of the partition is live and holds exactly this deleted version (checked
 *   by asking each); then each deletes it, under its key lock, only if it still holds that version.
 * A key written after its tombstone was reaped is minted under a fresh per-key actor (the replica holds
 * no object), so a stale copy of the old delete coming back — Riak's "doomstone" — cannot cover the new
 * write. The partition's first primary leads its reaping; the others only answer.
 */
export class TombstoneReaper {
  private timer: TimerHandle | undefined;
  private stopped = false;
  private running = false;
  readonly stats = { reaped: 0, candidates: 0, blockedNotAllLive: 0, blockedRingChanging: 0, disagreements: 0, passes: 0 };

  constructor(
    private readonly deps: {
      self: NodeId;
      engine: Engine;
      replica: Replica;
      transport: Transport;
      clock: Clock;
      random: Random;
      logger: Logger;
      isLive(id: NodeId): boolean;
      /** the primaries of a partition, or undefined while a ring change is in progress */
      stablePrimaries(partition: number): readonly NodeId[] | undefined;
      partitions(): number;
      /** when the ring last changed (monotonic ms) */
      ringChangedAtMs(): number;
    },
    private readonly config: ReaperConfig,
  ) {}

  register(router: MessageRouter, maxKeyBytes: number): void {
    const validate = (msg: Message): CheckMsg => {
      const p = msg.partition;
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= this.deps.partitions()) throw bad('partition out of range');
      if (!Array.isArray(msg.keys) || !Array.isArray(msg.digests) || msg.keys.length !== msg.digests.length || msg.keys.length > MAX_BATCH) throw bad('keys and digests must be arrays of one length');
      const keys = msg.keys.map((key) => requireKey({ type: 'k', key }, maxKeyBytes));
      for (const d of msg.digests) if (typeof d !== 'string' || d.length > MAX_DIGEST_CHARS) throw bad('bad digest');
      return { type: msg.type as CheckMsg['type'], partition: p, keys, digests: msg.digests as string[] };
    };
    router.register('tomb_check', validate, (_from, m) => this.answerCheck(m));
    router.register('tomb_reap', validate, async (_from, m) => ({ type: 'tomb_reaped', count: await this.reapLocal(m.partition, m.keys, m.digests) }));
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.config.reapIntervalMs * (0.8 + 0.4 * this.deps.random.next());
    this.timer = this.deps.clock.setTimer(delay, () => {
      void this.reapOnce().finally(() => this.schedule());
    });
  }

  /** one pass over the partitions this node leads; resolves with how many tombstones were reaped */
  async reapOnce(): Promise<number> {
    if (this.running || this.stopped) return 0;
    this.running = true;
    this.stats.passes++;
    let reaped = 0;
    try {
      if (this.deps.clock.monotonicMs() - this.deps.ringChangedAtMs() < this.config.ringStableMs) {
        this.stats.blockedRingChanging++;
        return 0;
      }
      for (let p = 0; p < this.deps.partitions(); p++) {
        const primaries = this.deps.stablePrimaries(p);
        if (primaries === undefined) {
          this.stats.blockedRingChanging++;
          continue;
        }
        if (primaries[0] !== this.deps.self) continue;
        reaped += await this.reapPartition(p, primaries);
      }
    } catch (e) {
      this.deps.logger.warn({ err: toRingkvError(e).message }, 'tombstone reaping pass stopped');
    } finally {
      this.running = false;
    }
    return reaped;
  }

  private async reapPartition(partition: number, primaries: readonly NodeId[]): Promise<number> {
    const others = primaries.filter((id) => id !== this.deps.self);
    if (!others.every((id) => this.deps.isLive(id))) {
      this.stats.blockedNotAllLive++;
      return 0;
    }
    const cutoff = this.deps.clock.nowMs() - this.config.tombstoneGraceMs;
    const batch: Array<{ key: Uint8Array; digest: string }> = [];
    let reaped = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      reaped += await this.reapBatch(partition, others, batch.splice(0));
    };
    for await (const e of this.deps.engine.scan(partition, partition + 1)) {
      const obj = decodeObject(e.value, `engine (partition ${partition})`);
      if (!isRipe(obj, cutoff)) continue;
      this.stats.candidates++;
      batch.push({ key: e.key, digest: versionDigestText(obj) });
      if (batch.length >= this.config.reapBatch) await flush();
    }
    await flush();
    return reaped;
  }

  /** asks every other primary whether it holds each tombstone exactly; reaps the ones all hold, everywhere */
  private async reapBatch(partition: number, others: NodeId[], batch: Array<{ key: Uint8Array; digest: string }>): Promise<number> {
    const { transport } = this.deps;
    const check: CheckMsg = { type: 'tomb_check', partition, keys: batch.map((b) => b.key), digests: batch.map((b) => b.digest) };
    let agreed = batch.map(() => true);
    for (const id of others) {
      const reply = await transport.request(id, check, this.config.requestTimeoutMs);
      const holds = reply.holds;
      if (reply.type !== 'tomb_check_ok' || !Array.isArray(holds) || holds.length !== batch.length) throw bad('malformed tomb_check reply');
      agreed = agreed.map((a, i) => a && holds[i] === true);
    }
    const keep = batch.filter((_, i) => agreed[i]);
    this.stats.disagreements += batch.length - keep.length;
    if (keep.length === 0) return 0;
    const reap: CheckMsg = { type: 'tomb_reap', partition, keys: keep.map((b) => b.key), digests: keep.map((b) => b.digest) };
    // the others first: should one fail, this node still holds the tombstone and the next pass retries
    for (const id of others) await transport.request(id, reap, this.config.requestTimeoutMs);
    const n = await this.reapLocal(partition, reap.keys, reap.digests);
    this.deps.logger.info({ partition, reaped: n }, 'tombstones reaped');
    return n;
  }

  private async answerCheck(m: CheckMsg): Promise<Message> {
    const cutoff = this.deps.clock.nowMs() - this.config.tombstoneGraceMs;
    const holds: boolean[] = [];
    for (let i = 0; i < m.keys.length; i++) {
      const obj = await this.deps.replica.read(m.partition, m.keys[i]);
      holds.push(obj !== undefined && isRipe(obj, cutoff) && versionDigestText(obj) === m.digests[i]);
    }
    return { type: 'tomb_check_ok', holds };
  }

  /** deletes each key whose stored object is still exactly that tombstone (under its key lock) */
  private async reapLocal(partition: number, keys: Uint8Array[], digests: string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < keys.length; i++) {
      if (await this.deps.replica.deleteIf(partition, keys[i], (obj) => obj.siblings.length === 0 && versionDigestText(obj) === digests[i])) n++;
    }
    this.stats.reaped += n;
    return n;
  }
}

/** a tombstone whose delete is older than the cutoff */
function isRipe(obj: VersionedObject, cutoffMs: number): boolean {
  return obj.siblings.length === 0 && obj.deletedAtMs !== undefined && obj.deletedAtMs <= cutoffMs;
}
