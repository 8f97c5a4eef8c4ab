/**
 * Hybrid logical clock: wall time when the clock moves forward, a logical counter when it does not.
 * Carried by every version so a front end (RESP) can make a documented last-writer-wins choice.
 */
export interface Hlc {
  wallMs: number;
  logical: number;
}

export const ZERO_HLC: Hlc = { wallMs: 0, logical: 0 };

/** The next timestamp after `last` on a node whose physical clock reads nowMs. */
export function hlcNext(last: Hlc, nowMs: number): Hlc {
  if (nowMs > last.wallMs) return { wallMs: nowMs, logical: 0 };
  return { wallMs: last.wallMs, logical: last.logical + 1 };
}

/** Advances `local` past a timestamp seen from elsewhere, so causally later writes sort later. */
export function hlcObserve(local: Hlc, seen: Hlc): Hlc {
  return hlcCompare(seen, local) > 0 ? { ...seen } : local;
}

export function hlcCompare(a: Hlc, b: Hlc): number {
  return a.wallMs - b.wallMs || a.logical - b.logical;
}
