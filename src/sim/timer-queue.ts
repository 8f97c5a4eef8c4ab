/**
 * A binary min-heap of timers ordered by (atMs, seq). The insertion sequence breaks ties, so two
 * timers due at the same virtual millisecond always fire in the order they were set.
 */
export interface QueuedTimer {
  readonly atMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class TimerQueue {
  private readonly heap: QueuedTimer[] = [];
  private nextSeq = 0;
  private live = 0;

  /** timers set and not yet fired or cancelled */
  get size(): number {
    return this.live;
  }

  push(atMs: number, fn: () => void): QueuedTimer {
    const timer: QueuedTimer = { atMs, seq: this.nextSeq++, fn, cancelled: false };
    this.heap.push(timer);
    this.siftUp(this.heap.length - 1);
    this.live++;
    return timer;
  }

  cancel(timer: QueuedTimer): void {
    if (timer.cancelled) return;
    timer.cancelled = true;
    this.live--;
  }

  /** the earliest live timer, without removing it */
  peek(): QueuedTimer | undefined {
    this.dropCancelledTop();
    return this.heap[0];
  }

  /** removes and returns the earliest live timer */
  pop(): QueuedTimer | undefined {
    this.dropCancelledTop();
    const top = this.removeTop();
    if (top) {
      // Marked so a late cancel() of a fired timer does not miscount.
      top.cancelled = true;
      this.live--;
    }
    return top;
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.removeTop();
  }

  private removeTop(): QueuedTimer | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private static before(a: QueuedTimer, b: QueuedTimer): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!TimerQueue.before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < heap.length && TimerQueue.before(heap[l], heap[smallest])) smallest = l;
      if (r < heap.length && TimerQueue.before(heap[r], heap[smallest])) smallest = r;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
      i = smallest;
    }
  }
}
