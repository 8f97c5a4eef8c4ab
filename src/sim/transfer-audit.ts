import { partitionOf } from '../core/hash.js';
import type { RingState } from '../cluster/ring-view.js';
import { decodeObject } from '../cluster/object-codec.js';
import { liveSiblings } from '../core/version/versioned-object.js';
import { ringText, type SimCluster } from './sim-cluster.js';
import type { TransferSnapshot } from './state-checkers.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** the live byte values of a stored ringkv object, as strings (tombstones and counters left out) */
export function liveValues(bytes: Uint8Array | undefined): string[] {
  if (bytes === undefined) return [];
  return liveSiblings(decodeObject(bytes, 'engine')).flatMap((s) => (s.value.kind === 'bytes' ? [decoder.decode(s.value.bytes)] : []));
}

/**
 * Watches ring changes commit and records what each new replica holds at that moment, for
 * checkTransfersComplete. A commit is a ring (no pending) whose previous epoch had it as its
 * pending ring; the first node to install it is the claimant, at the moment it commits. The change
 * began when that pending ring was first installed anywhere.
 */
export class TransferAudit {
  readonly snapshots: TransferSnapshot[] = [];
  private readonly firstSeenMs = new Map<string, number>();
  private readonly byEpoch = new Map<number, RingState[]>();
  private readonly reads: Promise<void>[] = [];

  constructor(
    private readonly cluster: SimCluster,
    private readonly keys: readonly string[],
  ) {
    cluster.onNewRing((state) => this.onRing(state));
  }

  /** waits for the snapshot reads still in flight (they settle within the event that started them) */
  async settled(): Promise<void> {
    await Promise.all(this.reads);
  }

  private onRing(state: RingState): void {
    const now = this.cluster.sim.elapsedMs;
    this.firstSeenMs.set(ringText(state), now);
    const list = this.byEpoch.get(state.epoch) ?? [];
    list.push(state);
    this.byEpoch.set(state.epoch, list);
    if (state.pending) return;
    const target = state.ring.owners().join(',');
    const change = (this.byEpoch.get(state.epoch - 1) ?? []).find((p) => p.pending !== undefined && p.pending.owners().join(',') === target);
    if (!change) return;
    const pendingSinceMs = this.firstSeenMs.get(ringText(change))!;
    const n = this.cluster.config.n;
    for (const key of this.keys) {
      const bytes = encoder.encode(key);
      const p = partitionOf(bytes, state.ring.partitions);
      const before = change.ring.preferenceList(p, n).primaries;
      for (const node of state.ring.preferenceList(p, n).primaries) {
        if (before.includes(node) || !this.cluster.isUp(node)) continue;
        this.reads.push(
          this.cluster
            .engine(node)
            .get(p, bytes)
            .then((stored) => {
              this.snapshots.push({ epoch: state.epoch, pendingSinceMs, committedAtMs: now, node, key, values: liveValues(stored) });
            }),
        );
      }
    }
  }
}
