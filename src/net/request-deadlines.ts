/**
 * The deadlines of one connection's requests in flight, behind a single timer: a request costs a heap
 * push instead of a setTimeout and a clearTimeout (measured: about 1 µs per request, a fifth of a
 * whole internode round trip, plus a timer object for the garbage collector).
 *
 * A binary min-heap of (deadline, request id) in typed arrays; the timer is armed for the earliest
 * deadline. Answered requests are not removed (the owner ignores an expired id it no longer holds);
 * compact() drops them when they outnumber the live ones.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;
const INITIAL_CAPACITY = 64;

export class RequestDeadlines {
  private deadlines = new Float64Array(INITIAL_CAPACITY);
  private ids = new Float64Array(INITIAL_CAPACITY);
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedForMs = Infinity;

  /**
   * @param onExpired called for each entry whose deadline has passed, earliest first
   * @param nowMs the clock deadlines are in @default performance.now
   */
  constructor(
    private readonly onExpired: (id: number) => void,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** entries held, answered requests included until they expire or are compacted away */
  get size(): number {
    return this.count;
  }

  add(id: number, deadlineMs: number): void {
    if (this.count === this.deadlines.length) this.grow();
    let i = this.count++;
    // sift up
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.deadlines[parent] <= deadlineMs) break;
      this.deadlines[i] = this.deadlines[parent];
      this.ids[i] = this.ids[parent];
      i = parent;
    }
    this.deadlines[i] = deadlineMs;
    this.ids[i] = id;
    if (deadlineMs < this.armedForMs) this.arm(deadlineMs);
  }

  /** Keeps only the entries `live` accepts (call when most entries belong to answered requests). */
  compact(live: (id: number) => boolean): void {
    const keptDeadlines: number[] = [];
    const keptIds: number[] = [];
    for (let i = 0; i < this.count; i++) {
      if (live(this.ids[i])) {
        keptDeadlines.push(this.deadlines[i]);
        keptIds.push(this.ids[i]);
      }
    }
    this.count = 0;
    for (let i = 0; i < keptIds.length; i++) this.add(keptIds[i], keptDeadlines[i]);
  }

  /** Forgets everything and stops the timer. */
  clear(): void {
    this.count = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedForMs = Infinity;
  }

  private grow(): void {
    const deadlines = new Float64Array(this.deadlines.length * 2);
    deadlines.set(this.deadlines);
    this.deadlines = deadlines;
    const ids = new Float64Array(this.ids.length * 2);
    ids.set(this.ids);
    this.ids = ids;
  }

  private arm(atMs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedForMs = atMs;
    this.timer = setTimeout(this.fire, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(atMs - this.nowMs()))));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedForMs = Infinity;
    const now = this.nowMs();
    while (this.count > 0 && this.deadlines[0] <= now) this.onExpired(this.pop());
    if (this.count > 0) this.arm(this.deadlines[0]);
  };

  private pop(): number {
    const top = this.ids[0];
    const last = --this.count;
    const d = this.deadlines[last];
    const id = this.ids[last];
    // sift down
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= last) break;
      const right = left + 1;
      const child = right < last && this.deadlines[right] < this.deadlines[left] ? right : left;
      if (this.deadlines[child] >= d) break;
      this.deadlines[i] = this.deadlines[child];
      this.ids[i] = this.ids[child];
      i = child;
    }
    this.deadlines[i] = d;
    this.ids[i] = id;
    return top;
  }
}
