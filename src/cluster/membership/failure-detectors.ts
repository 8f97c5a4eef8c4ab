/**
 * The detectors a node keeps, and what counts as a heartbeat for each:
 * - a direct detector (normal model) per member this node watches (watch-ring.ts), fed by that
 *   member's direct heartbeats and by its answers to probes: the fast path, phi 8 after ≈ 1.8 s;
 * - a gossip detector (exponential model) per known member, fed whenever gossip brings a newer
 *   heartbeat of it: the backstop for members whose watchers are all gone or cannot hear them (phi 8
 *   after ≈ 18 mean intervals), and the phi shown for members this node does not watch.
 * A member is suspected when either phi reaches the threshold. New direct detectors start with a
 * grace period: a member learns that it has a new watcher only when its own view catches up.
 */
import type { NodeId } from '../../core/member.js';
import { PhiAccrualDetector } from '../../core/membership/phi-detector.js';
import type { GossipConfig } from './gossip-config.js';

export class FailureDetectors {
  private readonly gossip = new Map<NodeId, PhiAccrualDetector>();
  private readonly direct = new Map<NodeId, PhiAccrualDetector>();

  constructor(private readonly config: GossipConfig) {}

  /** members watched directly, in no particular order */
  watched(): NodeId[] {
    return [...this.direct.keys()];
  }

  isWatched(id: NodeId): boolean {
    return this.direct.has(id);
  }

  /** A member first known, or known under a new incarnation: fresh gossip detector, with a grace period. */
  restart(id: NodeId, nowMs: number, graceMs: number): void {
    const d = this.newDetector('exponential', nowMs);
    d.discount(graceMs);
    this.gossip.set(id, d);
    const direct = this.direct.get(id);
    if (direct !== undefined) {
      const fresh = this.newDetector('normal', nowMs);
      fresh.discount(graceMs);
      this.direct.set(id, fresh);
    }
  }

  /** gossip brought a newer heartbeat of id */
  gossipArrival(id: NodeId, nowMs: number): void {
    this.gossip.get(id)?.heartbeat(nowMs);
  }

  /** id spoke to this node directly (its heartbeat, or its answer to a probe) */
  directArrival(id: NodeId, nowMs: number): void {
    this.direct.get(id)?.heartbeat(nowMs);
    this.gossip.get(id)?.heartbeat(nowMs);
  }

  forget(id: NodeId): void {
    this.gossip.delete(id);
    this.direct.delete(id);
  }

  /** Sets the watched members: new ones get a direct detector (with grace), dropped ones lose theirs. */
  setWatched(ids: readonly NodeId[], nowMs: number): void {
    const keep = new Set(ids);
    for (const id of this.direct.keys()) if (!keep.has(id)) this.direct.delete(id);
    for (const id of ids) {
      if (this.direct.has(id)) continue;
      const d = this.newDetector('normal', nowMs);
      d.discount(this.config.watchGraceMs);
      this.direct.set(id, d);
    }
  }

  /** the higher of the two phis (0 for a member without detectors) */
  phi(id: NodeId, nowMs: number): number {
    const g = this.gossip.get(id)?.phi(nowMs) ?? 0;
    const d = this.direct.get(id)?.phi(nowMs) ?? 0;
    return Math.max(g, d);
  }

  /** The node itself was stalled for ms: nobody's silence in that time counts. */
  discount(ms: number): void {
    for (const d of this.gossip.values()) d.discount(ms);
    for (const d of this.direct.values()) d.discount(ms);
  }

  /** for reports: the direct detectors' silence-to-threshold, per watched member */
  directSuspicionDelays(): Map<NodeId, number> {
    return new Map([...this.direct].map(([id, d]) => [id, d.silenceToReach(this.config.phiThreshold)]));
  }

  private newDetector(model: 'normal' | 'exponential', nowMs: number): PhiAccrualDetector {
    return new PhiAccrualDetector(nowMs, {
      model,
      windowSize: this.config.detectorWindow,
      minStdDevMs: this.config.detectorMinStdDevMs,
      maxSampleMs: this.config.detectorMaxSampleMs,
      expectedIntervalMs: this.config.gossipIntervalMs,
    });
  }
}
