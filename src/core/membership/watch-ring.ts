/**
 * Who watches whom (Akka's heartbeat ring): members not marked down or left, sorted by id, form a
 * ring; each node sends a direct heartbeat every interval to the k members after it, and watches the
 * k members before it. Direct heartbeats arrive with only network jitter, so the watchers' detectors
 * can be fast without being jumpy; k watchers per node cost k small messages per node per interval,
 * independent of cluster size. When a member goes down it leaves the ring and the next one takes
 * its place — every node computes the same from the same view, and views converge within rounds.
 */
import type { NodeId } from '../member.js';

export class WatchRing {
  private readonly ids: readonly NodeId[];
  private readonly position: ReadonlyMap<NodeId, number>;

  /** ids: the members in the ring (any order, no repeats) */
  constructor(ids: Iterable<NodeId>) {
    this.ids = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.position = new Map(this.ids.map((id, i) => [id, i]));
  }

  get size(): number {
    return this.ids.length;
  }

  /** the k members after id (whom id sends heartbeats to); empty when id is not in the ring */
  watchersOf(id: NodeId, k: number): NodeId[] {
    return this.walk(id, k, 1);
  }

  /** the k members before id (whom id watches) */
  watchedBy(id: NodeId, k: number): NodeId[] {
    return this.walk(id, k, -1);
  }

  private walk(id: NodeId, k: number, step: 1 | -1): NodeId[] {
    const at = this.position.get(id);
    if (at === undefined) return [];
    const n = this.ids.length;
    const out: NodeId[] = [];
    for (let d = 1; d < n && out.length < k; d++) out.push(this.ids[(at + step * d + n * k) % n]);
    return out;
  }
}
