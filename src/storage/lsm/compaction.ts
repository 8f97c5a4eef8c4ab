/**
 * Size-tiered compaction (Cassandra's default strategy): tables of similar size are merged into one,
 * so each key is rewritten O(log n) times. Only a run of tables that are adjacent in age is merged —
 * the result takes the run's place in the newest-first list, so for every key "newer table wins"
 * stays true without per-entry sequence numbers.
 */
export interface TieringOptions {
  /** merge once this many similar tables sit next to each other @default 4 */
  minTables: number;
  /** most tables merged at once @default 32 */
  maxTables: number;
  /** tables at or below this size all count as similar (fresh flushes vary a lot) */
  smallTableBytes: number;
}

/** Picks [start, end) in a newest-first list of table sizes, or undefined when nothing is due. */
export function pickSizeTieredRun(sizes: readonly number[], opts: TieringOptions): { start: number; end: number } | undefined {
  let bestStart = -1;
  let bestEnd = -1;
  for (let start = 0; start < sizes.length; start++) {
    let end = start + 1;
    let total = Math.max(sizes[start], opts.smallTableBytes);
    while (end < sizes.length && end - start < opts.maxTables) {
      const mean = total / (end - start);
      const s = Math.max(sizes[end], opts.smallTableBytes);
      if (s < mean * 0.5 || s > mean * 1.5) break;
      total += s;
      end++;
    }
    // prefer the longest run; among equals the newest (smallest, cheapest)
    if (end - start >= opts.minTables && end - start > bestEnd - bestStart) {
      bestStart = start;
      bestEnd = end;
    }
  }
  return bestStart < 0 ? undefined : { start: bestStart, end: bestEnd };
}
