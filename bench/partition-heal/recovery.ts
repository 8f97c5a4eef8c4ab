/**
 * When writes flow again after a fault heals, read from the record of every write the clients made
 * (in the order they were invoked). Pure: no clock, no I/O.
 */

export interface WriteRecord {
  /** ms on the bench's monotonic clock */
  invokedMs: number;
  doneMs?: number;
  /** undefined while the write is in flight */
  ok?: boolean;
  /** the HTTP status, or what went wrong on the client */
  outcome?: string;
}

/** index of the first write invoked at or after fromMs (binary search: writes are in invocation order) */
function firstIndexFrom(writes: readonly WriteRecord[], fromMs: number): number {
  let lo = 0;
  let hi = writes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (writes[mid].invokedMs < fromMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** the first acknowledged write among those invoked at or after fromMs */
export function firstAckAfter(writes: readonly WriteRecord[], fromMs: number): WriteRecord | undefined {
  for (let i = firstIndexFrom(writes, fromMs); i < writes.length; i++) if (writes[i].ok === true) return writes[i];
  return undefined;
}

/**
 * The start of the first windowMs-long window, opening with the invocation of an acknowledged write at
 * or after fromMs, in which every write invoked was acknowledged. undefined until such a window has
 * been watched to its end: every write invoked in it completed, and some write was invoked after it.
 */
export function steadyFrom(writes: readonly WriteRecord[], fromMs: number, windowMs: number): number | undefined {
  let start: number | undefined;
  // a window opening at an instant holds every write invoked then, a failed one too
  let lastFailureMs = -Infinity;
  for (let i = firstIndexFrom(writes, fromMs); i < writes.length; i++) {
    const w = writes[i];
    if (start !== undefined && w.invokedMs >= start + windowMs) return start;
    if (w.ok === undefined) return undefined;
    if (!w.ok) {
      start = undefined;
      lastFailureMs = w.invokedMs;
    } else if (start === undefined && w.invokedMs > lastFailureMs) start = w.invokedMs;
  }
  return undefined;
}

/** how the writes invoked in [fromMs, toMs) ended */
export function tally(writes: readonly WriteRecord[], fromMs: number, toMs: number): { ok: number; failed: number } {
  let ok = 0;
  let failed = 0;
  for (const w of writes) {
    if (w.invokedMs < fromMs || w.invokedMs >= toMs) continue;
    if (w.ok === true) ok++;
    else if (w.ok === false) failed++;
  }
  return { ok, failed };
}
