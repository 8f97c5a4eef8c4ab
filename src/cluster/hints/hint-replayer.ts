import { toRingkvError } from '../../core/errors.js';
import type { NodeId } from '../../core/member.js';
import { ByteRateLimiter } from '../anti-entropy/byte-rate-limiter.js';
import { bad, type ReplicateMsg } from '../messages.js';
import { decodeObject } from '../object-codec.js';
import type { Replica } from '../replica.js';
import type { Clock, Logger, TimerHandle, Transport } from '../runtime.js';
import type { Hint, HintStore } from './hint-store.js';

export interface HintReplayConfig {
  /** hints handed back per second per target; at least 1, so a limit never rounds down to nothing @default 1000 */
  hintReplayObjectsPerSec: number;
  /** how often targets with hints are checked for being up again @default 1000 */
  hintSweepMs: number;
  requestTimeoutMs: number;
}

/**
 * Hands hints back: within a sweep (a second by default) of a target being seen up, its hints are
 * sent to it, oldest keys first, at a bounded rate, each deleted only after the target acknowledged it
 * (durably: a replicate is acknowledged after the replica stored it). When the hint's partition has
 * moved to other owners meanwhile, the hint goes to the partition's current replicas instead — hints
 * follow ownership; so do the hints of a target that left the cluster or was removed. A hint older
 * than the hint window is dropped (anti-entropy repairs what it held). A failure stops that target's replay; the next sweep resumes where the store still has hints.
 * A target seen up again supersedes a replay still running for it: that one may be waiting out a
 * request to the target's previous incarnation (sent while it was down but not yet detected), which
 * would hold the hints back for a whole request timeout and a sweep — long enough to outlive them.
 */
export class HintReplayer {
  private timer: TimerHandle | undefined;
  /** per target, the id of its current replay (a superseded replay stops at its next step) */
  private readonly running = new Map<NodeId, number>();
  private replays = 0;
  private readonly limiters = new Map<NodeId, ByteRateLimiter>();
  private stopped = false;
  readonly stats = { replayed: 0, replayErrors: 0, lastReplayPerSec: 0 };

  constructor(
    private readonly deps: {
      self: NodeId;
      store: HintStore;
      transport: Transport;
      replica: Replica;
      clock: Clock;
      logger: Logger;
      isLive(id: NodeId): boolean;
      /** true for a member that left or was removed: its hints go to the partitions' replicas now (absent: never) */
      isGone?(id: NodeId): boolean;
      /** the replicas of a partition now (current ring, and the pending one during a change) */
      replicasOf(partition: number): readonly NodeId[];
    },
    private readonly config: HintReplayConfig,
  ) {}

  start(): void {
    this.sweep();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** a member was seen up: hand its hints back now rather than at the next sweep, superseding a replay still running */
  onMemberUp(id: NodeId): void {
    if (!this.stopped && this.deps.store.targetStats(id).count > 0) void this.replay(id, { supersede: true });
  }

  private sweep(): void {
    if (this.stopped) return;
    for (const target of this.deps.store.pendingTargets()) if (this.deliverable(target)) void this.replay(target);
    this.timer = this.deps.clock.setTimer(this.config.hintSweepMs, () => this.sweep());
  }

  /** a target's hints can go now: it is up, or it left the cluster (they go to the partitions' replicas) */
  private deliverable(target: NodeId): boolean {
    return this.deps.isLive(target) || (this.deps.isGone?.(target) ?? false);
  }

  /** hands target's hints back (one replay per target at a time, unless superseding the running one) */
  async replay(target: NodeId, opts: { supersede?: boolean } = {}): Promise<number> {
    if ((this.running.has(target) && !opts.supersede) || this.stopped) return 0;
    const id = ++this.replays;
    this.running.set(target, id);
    const current = (): boolean => this.running.get(target) === id;
    const startedMs = this.deps.clock.monotonicMs();
    let done = 0;
    try {
      let limiter = this.limiters.get(target);
      if (!limiter) this.limiters.set(target, (limiter = new ByteRateLimiter(this.deps.clock, Math.max(1, this.config.hintReplayObjectsPerSec))));
      for await (const h of this.deps.store.hintsFor(target)) {
        if (this.stopped || !current() || !this.deliverable(target)) break;
        if (this.deps.store.isExpired(h, this.deps.clock.nowMs())) {
          await this.deps.store.remove(h, 'age');
          continue;
        }
        await limiter.take(1);
        await this.deliver(h);
        await this.deps.store.remove(h);
        done++;
        this.stats.replayed++;
      }
    } catch (e) {
      this.stats.replayErrors++;
      this.deps.logger.debug({ target, err: toRingkvError(e).message }, 'hint replay stopped (resumes at the next sweep)');
    } finally {
      if (current()) this.running.delete(target);
      const secs = (this.deps.clock.monotonicMs() - startedMs) / 1000;
      if (done > 0) {
        this.stats.lastReplayPerSec = secs > 0 ? Math.round(done / secs) : done;
        this.deps.logger.info({ target, hints: done, seconds: secs }, 'hints handed back');
      }
    }
    return done;
  }

  /** to the target while it replicates the partition, else to the partition's replicas now */
  private async deliver(h: Hint): Promise<void> {
    const replicas = this.deps.replicasOf(h.partition);
    const to = replicas.includes(h.target) ? [h.target] : replicas;
    for (const id of to) {
      if (id === this.deps.self) {
        await this.deps.replica.merge(h.partition, h.key, decodeObject(h.object, 'hint'), h.object);
        continue;
      }
      const reply = await this.deps.transport.request(id, { type: 'replicate', partition: h.partition, key: h.key, object: h.object } satisfies ReplicateMsg, this.config.requestTimeoutMs);
      if (reply.type !== 'ack') throw bad(`unexpected reply ${reply.type} to a hint`);
    }
  }
}
