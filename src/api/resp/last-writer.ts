import type { SiblingView } from '../../cluster/kv-service.js';

/**
 * The one value a Redis client sees when concurrent writes left siblings: last writer wins by hybrid
 * logical timestamp (highest hlcWallMs, then hlcLogical, then writer id as a tiebreak so that every
 * node picks the same sibling). The HTTP API still shows every sibling; RESP clients cannot express
 * them, so this front end documents the pick instead.
 */
export function pickLastWriter(siblings: readonly SiblingView[]): SiblingView | undefined {
  let best: SiblingView | undefined;
  for (const s of siblings) {
    if (best === undefined || isLater(s, best)) best = s;
  }
  return best;
}

function isLater(a: SiblingView, b: SiblingView): boolean {
  if (a.hlcWallMs !== b.hlcWallMs) return a.hlcWallMs > b.hlcWallMs;
  if (a.hlcLogical !== b.hlcLogical) return a.hlcLogical > b.hlcLogical;
  return a.writer > b.writer;
}
