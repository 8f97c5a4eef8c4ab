/**
 * The closed form of the PBS paper (Bailis et al., "Probabilistically Bounded Staleness", VLDB 2012)
 * for k-staleness: with writes reaching exactly W of N replicas and reads asking R of them, both sets
 * uniform and independent, a read misses every one of the last k versions with probability
 * (C(N−W, R) / C(N, R))^k — 2/3 for N=3, R=W=1, k=1; 0 whenever R + W > N.
 */

/** C(n, k), exact for the small n of replication (n ≤ 64) */
export function binomial(n: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(k) || n < 0) throw new RangeError(`binomial needs integers n ≥ 0, got n=${n} k=${k}`);
  if (k < 0 || k > n) return 0;
  let result = 1;
  const kk = Math.min(k, n - k);
  for (let i = 1; i <= kk; i++) result = (result * (n - kk + i)) / i;
  return Math.round(result);
}

/** probability that a read misses all of the last k versions (the paper's k-staleness, stale side) */
export function kStaleProbability(n: number, r: number, w: number, k = 1): number {
  checkQuorums(n, r, w);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer ≥ 1, got ${k}`);
  return (binomial(n - w, r) / binomial(n, r)) ** k;
}

export function checkQuorums(n: number, r: number, w: number): void {
  for (const [name, v] of [['n', n], ['r', r], ['w', w]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${v}`);
  }
  if (r > n || w > n) throw new RangeError(`r=${r} and w=${w} must be at most n=${n}`);
}
