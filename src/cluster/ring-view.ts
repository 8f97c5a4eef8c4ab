import type { Member } from '../core/member.js';
import { buildRing, type Ring } from '../core/ring.js';

/** One agreed placement: the members, the ring they claim, and its epoch (0 = the configured ring). */
export interface RingState {
  readonly epoch: number;
  /** every member of the ring and of the pending ring */
  readonly members: readonly Member[];
  readonly ring: Ring;
  /** the ring taking over during a ring change (transfers in progress), if any */
  readonly pending?: Ring;
}

export type RingListener = (next: RingState, previous: RingState) => void;

/**
 * The node's current placement, swapped in one step: coordination, replica handlers, anti-entropy,
 * introspection and the transport's peer resolution all read `current`, so none of them can see half
 * of a ring change. Listeners hear of every swap (to start transfers, drop trees, re-resolve peers).
 */
export class RingView {
  private state: RingState;
  private readonly listeners = new Set<RingListener>();

  constructor(initial: RingState) {
    this.state = initial;
  }

  /** the configured members' ring, epoch 0 */
  static of(members: readonly Member[], partitions: number): RingView {
    return new RingView({ epoch: 0, members: [...members], ring: buildRing([...members], partitions) });
  }

  get current(): RingState {
    return this.state;
  }

  /** swaps in the placement the membership installed (it decides which ring wins); false when unchanged */
  replace(next: RingState): boolean {
    if (next === this.state) return false;
    const previous = this.state;
    this.state = next;
    for (const l of this.listeners) l(next, previous);
    return true;
  }

  onChange(listener: RingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
