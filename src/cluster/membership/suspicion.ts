/**
 * From phi to `down`: a member whose phi reaches the threshold is suspected and probed (prober.ts);
 * it is marked down only when the probe round fails and, at its end, nothing newer was heard from the
 * member, its phi is still over the threshold, and this node was not itself stalled during the round
 * (a round whose timeout fired late says nothing about the member).
 */
import type { NodeId } from '../../core/member.js';
import { isLive, isNewerLife, versionOf, type EntryVersion, type MemberEntry } from '../../core/membership/member-entry.js';
import type { Clock, Logger, Random } from '../runtime.js';
import type { FailureDetectors } from './failure-detectors.js';
import type { GossipConfig } from './gossip-config.js';
import { pickDistinct } from './peer-selection.js';
import type { Prober } from './prober.js';

/** What the suspicion logic needs from the membership it serves. */
export interface SuspicionHost {
  readonly self: NodeId;
  row(id: NodeId): MemberEntry | undefined;
  livePeers(): NodeId[];
  running(): boolean;
  /** records this node's own verdict about a member (suspect or down) and spreads it */
  decide(row: MemberEntry): void;
  /** a probe was answered: merge the member's own row */
  answered(id: NodeId, entry: MemberEntry): void;
}

export interface SuspicionCounters {
  suspicions: number;
  downs: number;
  /** failed probe rounds not acted on: a stall of this node, or news from the member, during the round */
  inconclusiveProbes: number;
}

export class Suspicion {
  readonly counters: SuspicionCounters = { suspicions: 0, downs: 0, inconclusiveProbes: 0 };
  private readonly probing = new Set<NodeId>();

  constructor(
    private readonly host: SuspicionHost,
    private readonly config: GossipConfig,
    private readonly detectors: FailureDetectors,
    private readonly prober: Prober,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly logger: Logger,
  ) {}

  /** Suspects (and probes) the members among `ids` whose phi reached the threshold. */
  check(ids: Iterable<NodeId>, now: number): void {
    for (const id of ids) {
      const e = this.host.row(id);
      if (e === undefined || id === this.host.self || !isLive(e.status) || this.probing.has(id)) continue;
      if (this.detectors.phi(id, now) < this.config.phiThreshold) continue;
      if (e.status !== 'suspect') {
        this.counters.suspicions++;
        this.host.decide({ ...e, status: 'suspect' });
      }
      void this.probe(id, versionOf(e), now);
    }
  }

  private async probe(id: NodeId, suspected: EntryVersion, startedMs: number): Promise<void> {
    this.probing.add(id);
    let result;
    try {
      const helpers = pickDistinct(this.host.livePeers(), this.config.indirectProbes, this.random, new Set([id]));
      result = await this.prober.probe(id, helpers, this.config.probeTimeoutMs);
    } finally {
      this.probing.delete(id);
    }
    if (!this.host.running()) return;
    const now = this.clock.nowMs();
    if (result.alive) {
      this.detectors.directArrival(id, now);
      this.host.answered(id, result.entry);
      return;
    }
    const row = this.host.row(id);
    const stalled = now - startedMs > this.config.probeTimeoutMs + this.config.stallThresholdMs;
    const news = row === undefined || row.incarnation !== suspected.incarnation || isNewerLife(suspected, versionOf(row));
    const phi = this.detectors.phi(id, now);
    if (stalled || news || phi < this.config.phiThreshold) {
      this.counters.inconclusiveProbes++;
      return;
    }
    if (!isLive(row.status)) return;
    this.counters.downs++;
    this.logger.warn({ id, phi: Math.round(phi * 100) / 100, probePaths: result.paths, refused: result.refused }, 'membership: member marked down');
    this.host.decide({ ...row, status: 'down' });
  }
}
