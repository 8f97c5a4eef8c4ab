import { toRingkvError } from '../../core/errors.js';
import type { NodeId } from '../../core/member.js';
import type { AntiEntropy } from '../anti-entropy/aae-service.js';
import type { RingState, RingView } from '../ring-view.js';
import type { Clock, Logger, TimerHandle } from '../runtime.js';

/** What the transfers need of the membership (absent for a static cluster: no ring ever changes). */
export interface TransferMembership {
  /** true once every member of the epoch has installed it (or a later one) */
  everyoneOn(epoch: number): boolean;
  /** false for members an operator removed: nothing can be pulled from them */
  isRemoved(id: NodeId): boolean;
  /** tells the claimant this node's inbound transfers of the pending ring of `epoch` are done */
  reportTransfersDone(epoch: number): void;
}

export interface TransferConfig {
  /** replicas of a key @default 3 */
  n: number;
  /** a request's longest life: writes made from an older ring view are over after this @default 5000 */
  requestTimeoutMs: number;
  /** a partition handed away keeps serving (for coordinators that have not seen the new ring) this long, then its data is dropped @default 60000 */
  drainGraceMs: number;
  /** a transfer with no progress for this long is reported stalled @default 60000 */
  stallAfterMs: number;
}

export type TransferPhase = 'bulk' | 'waiting' | 'final' | 'done';

/** One inbound partition of a ring change, as /cluster/ring's `pending` and `ringkv status` show it. */
export interface TransferStatus {
  partition: number;
  /** the current replicas it is pulled from */
  from: NodeId[];
  to: NodeId;
  phase: TransferPhase;
  percent: number;
  startedAtMs: number;
  lastProgressMs: number;
  /** objects pulled so far */
  objects: number;
  bytes: number;
  stalled: boolean;
  lastError?: string;
}

const RETRY_MS = 1000;

/**
 * Partition transfers for ring changes. When a pending ring names this node a new replica of a
 * partition, it pulls the partition from the partition's current replicas — by anti-entropy exchanges,
 * which stream a snapshot in pages and batches under the repair rate limit, move only what is missing,
 * and resume where they left off after a crash (what arrived is kept and not sent again):
 * 1. bulk: an exchange with each current replica;
 * 2. wait until every member has installed the pending ring (from then on every write reaches the new
 *    replicas too: W of each ring) and a request timeout more has passed (writes begun on an older
 *    view are over);
 * 3. final: an exchange with each current replica again, catching whatever was acknowledged under
 *    the older view;
 * then it reports its transfers done, and the claimant makes the pending ring the ring.
 *
 * A partition this node no longer replicates after a change keeps serving for drainGraceMs (for
 * coordinators that have not seen the new ring yet); then it is handed off — an exchange with each of
 * its current replicas pushes whatever they lack (after a normal change, nothing: they pulled it) —
 * and only then dropped. So a ring replaced without transfers (two rings of one epoch from groups
 * started apart) moves data too, and nothing is dropped that its new replicas do not hold.
 */
export class PartitionTransfers {
  private readonly inbound = new Map<number, TransferStatus>();
  private readonly draining = new Map<number, number>();
  private job: { epoch: number; cancelled: boolean } | undefined;
  private drainTimer: TimerHandle | undefined;
  private stopped = false;
  readonly stats = { transfersCompleted: 0, partitionsDropped: 0, keysDropped: 0, objectsPulled: 0, bytesPulled: 0 };

  constructor(
    private readonly deps: {
      self: NodeId;
      view: RingView;
      antiEntropy: AntiEntropy;
      membership: () => TransferMembership | undefined;
      dropPartition: (partition: number) => Promise<number>;
      /** whether the node stores any object of a partition */
      storesAny: (partition: number) => Promise<boolean>;
      clock: Clock;
      logger: Logger;
    },
    private readonly config: TransferConfig,
  ) {
    deps.view.onChange((next, previous) => this.onRingChange(next, previous));
  }

  stop(): void {
    this.stopped = true;
    if (this.job) this.job.cancelled = true;
    this.drainTimer?.cancel();
  }

  /** partitions this node still serves after handing them away (they are dropped after the grace) */
  isDraining(partition: number): boolean {
    return this.draining.has(partition);
  }

  /** inbound transfers of the current ring change (empty when none is in progress) */
  status(): TransferStatus[] {
    const now = this.deps.clock.monotonicMs();
    return [...this.inbound.values()].map((t) => ({ ...t, from: [...t.from], stalled: t.phase !== 'done' && now - t.lastProgressMs > this.config.stallAfterMs }));
  }

  /**
   * Picks up a ring change at start-up (a node restarted during one resumes its transfers), and the
   * partitions the node still stores but no longer holds — the drain list is not kept across a crash,
   * so a partition handed away shortly before one would otherwise stay for ever: they drain again.
   */
  resume(): void {
    const state = this.deps.view.current;
    if (state.pending) this.startInbound(state);
    void this.drainLeftovers().catch((e) => this.deps.logger.warn({ err: toRingkvError(e).message }, 'transfers: could not look for partitions to drop'));
  }

  private async drainLeftovers(): Promise<void> {
    const until = this.deps.clock.monotonicMs() + this.config.drainGraceMs;
    for (let p = 0; p < this.deps.view.current.ring.partitions; p++) {
      if (this.stopped) return;
      if (this.draining.has(p) || this.holds(this.deps.view.current, p)) continue;
      if ((await this.deps.storesAny(p)) && !this.holds(this.deps.view.current, p)) this.draining.set(p, until);
    }
    if (this.draining.size > 0) this.scheduleDrain();
  }

  /** a replica of the partition under the state's ring or its pending ring */
  private holds(s: RingState, p: number): boolean {
    const { n } = this.config;
    return s.ring.preferenceList(p, n).primaries.includes(this.deps.self) || (s.pending?.preferenceList(p, n).primaries.includes(this.deps.self) ?? false);
  }

  private onRingChange(next: RingState, previous: RingState): void {
    if (this.stopped) return;
    // epoch 0 is a joiner's placeholder (itself for every partition), not partitions it ever held: of
    // those, only what it really stores drains (else it would pull and drop every partition it lacks)
    const placeholder = previous.epoch === 0;
    for (let p = 0; p < next.ring.partitions; p++) {
      if (!placeholder && this.holds(previous, p) && !this.holds(next, p) && !this.draining.has(p)) this.draining.set(p, this.deps.clock.monotonicMs() + this.config.drainGraceMs);
      else if (this.holds(next, p)) this.draining.delete(p);
    }
    if (placeholder) void this.drainLeftovers().catch((e) => this.deps.logger.warn({ err: toRingkvError(e).message }, 'transfers: could not look for partitions to drop'));
    if (this.draining.size > 0) this.scheduleDrain();
    if (next.pending) this.startInbound(next);
    else {
      if (this.job) this.job.cancelled = true;
      this.job = undefined;
      this.inbound.clear();
    }
  }

  private startInbound(state: RingState): void {
    if (this.job?.epoch === state.epoch) return;
    if (this.job) this.job.cancelled = true;
    const { n } = this.config;
    const self = this.deps.self;
    const now = this.deps.clock.monotonicMs();
    this.inbound.clear();
    for (let p = 0; p < state.ring.partitions; p++) {
      const current = state.ring.preferenceList(p, n).primaries;
      if (current.includes(self) || !state.pending!.preferenceList(p, n).primaries.includes(self)) continue;
      this.inbound.set(p, { partition: p, from: current.filter((id) => id !== self), to: self, phase: 'bulk', percent: 0, startedAtMs: now, lastProgressMs: now, objects: 0, bytes: 0, stalled: false });
    }
    const job = { epoch: state.epoch, cancelled: false };
    this.job = job;
    if (this.inbound.size > 0) this.deps.logger.info({ epoch: state.epoch, partitions: this.inbound.size }, 'transfers: pulling partitions for a ring change');
    void this.run(job).catch((e) => this.deps.logger.error({ err: toRingkvError(e).message }, 'transfers failed'));
  }

  private async run(job: { epoch: number; cancelled: boolean }): Promise<void> {
    const parts = [...this.inbound.values()];
    // bulk: from one replica each, spread over them (they hold nearly the same data; listing the keys of
    // the others again would only find what the final pass finds anyway)
    for (let i = 0; i < parts.length; i++) {
      await this.pullFromAny(parts[i], job, i);
      if (job.cancelled) return;
      parts[i].phase = 'waiting';
      parts[i].percent = 50;
    }
    // every member on the pending ring (so every new write reaches us), and in-flight older writes over
    while (!job.cancelled && !(this.deps.membership()?.everyoneOn(job.epoch) ?? true)) await this.sleep(RETRY_MS);
    await this.sleep(this.config.requestTimeoutMs);
    // final: from every current replica, so nothing any of them acknowledged before the change is missed
    for (const t of parts) {
      if (job.cancelled) return;
      t.phase = 'final';
      await this.pullFrom(t, job, t.from);
      if (job.cancelled) return;
      t.phase = 'done';
      t.percent = 100;
      t.lastProgressMs = this.deps.clock.monotonicMs();
    }
    this.stats.transfersCompleted += parts.length;
    this.deps.logger.info({ epoch: job.epoch, partitions: parts.length }, 'transfers: done');
    this.deps.membership()?.reportTransfersDone(job.epoch);
  }

  /** one exchange with any one replica of the partition — the `start`th first, the next on a failure — or none when every one was removed */
  private async pullFromAny(t: TransferStatus, job: { cancelled: boolean }, start: number): Promise<void> {
    for (let attempt = 0; !job.cancelled; attempt++) {
      const candidates = t.from.filter((id) => !this.deps.membership()?.isRemoved(id));
      if (candidates.length === 0) return;
      if (await this.exchange(t, candidates[(start + attempt) % candidates.length])) return;
      if ((attempt + 1) % candidates.length === 0) await this.sleep(RETRY_MS);
    }
  }

  /** one exchange with each of `sources` (replicas of the partition), retried until it succeeds or the change is superseded */
  private async pullFrom(t: TransferStatus, job: { cancelled: boolean }, sources: readonly NodeId[]): Promise<void> {
    const pending = new Set(sources);
    while (pending.size > 0 && !job.cancelled) {
      for (const source of [...pending]) {
        if (job.cancelled) return;
        if (this.deps.membership()?.isRemoved(source)) {
          pending.delete(source); // removed by an operator: the other replicas stand in for it
          continue;
        }
        if (await this.exchange(t, source)) pending.delete(source);
      }
      if (pending.size > 0) await this.sleep(RETRY_MS);
    }
  }

  /** one anti-entropy exchange pulling the partition from source; false (and lastError) when it failed */
  private async exchange(t: TransferStatus, source: NodeId): Promise<boolean> {
    try {
      const r = await this.deps.antiEntropy.exchangeNow(t.partition, source);
      if (!r.compared) throw new Error(`${source} could not compare yet`);
      t.objects += r.pulled;
      t.bytes += r.bytesReceived;
      this.stats.objectsPulled += r.pulled;
      this.stats.bytesPulled += r.bytesReceived;
      t.lastProgressMs = this.deps.clock.monotonicMs();
      t.lastError = undefined;
      return true;
    } catch (e) {
      t.lastError = `${source}: ${toRingkvError(e).message}`;
      return false;
    }
  }

  private scheduleDrain(): void {
    if (this.drainTimer || this.stopped) return;
    const next = Math.min(...this.draining.values());
    this.drainTimer = this.deps.clock.setTimer(Math.max(1, next - this.deps.clock.monotonicMs()), () => {
      this.drainTimer = undefined;
      void this.drainDue().finally(() => {
        if (this.draining.size > 0) this.scheduleDrain();
      });
    });
  }

  private async drainDue(): Promise<void> {
    const now = this.deps.clock.monotonicMs();
    for (const [p, at] of [...this.draining]) {
      if (at > now || this.stopped) continue;
      // still handed away? (a later change may have given it back meanwhile)
      if (!this.draining.has(p)) continue;
      try {
        await this.handOff(p);
        const keys = await this.deps.dropPartition(p);
        this.draining.delete(p);
        this.stats.partitionsDropped++;
        this.stats.keysDropped += keys;
        this.deps.logger.info({ partition: p, keys }, 'transfers: dropped a partition handed to its new replicas');
      } catch (e) {
        this.deps.logger.warn({ partition: p, err: toRingkvError(e).message }, 'transfers: could not drop a partition; will retry');
        this.draining.set(p, now + RETRY_MS);
      }
    }
  }

  /** pushes what the partition's current replicas lack; throws while one of them cannot be reached */
  private async handOff(partition: number): Promise<void> {
    const { ring } = this.deps.view.current;
    for (const to of ring.preferenceList(partition, this.config.n).primaries) {
      if (to === this.deps.self || this.deps.membership()?.isRemoved(to)) continue;
      const r = await this.deps.antiEntropy.exchangeNow(partition, to);
      if (!r.compared) throw new Error(`${to} could not compare partition ${partition} yet`);
      if (r.pushed > 0) this.deps.logger.info({ partition, to, objects: r.pushed }, 'transfers: handed off objects the new replica lacked');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.deps.clock.setTimer(ms, resolve));
  }
}
