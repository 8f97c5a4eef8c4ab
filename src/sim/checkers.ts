import { describeOp, type OpRecord } from './history.js';

export interface Violation {
  /** which checker found it */
  checker: string;
  message: string;
  /** the ops involved, for the report */
  opIds: number[];
}

export interface CheckOptions {
  /** replicas per key */
  n: number;
}

const isWrite = (o: OpRecord): boolean => o.kind === 'put' || o.kind === 'delete';
const okRead = (o: OpRecord): boolean => o.kind === 'get' && o.outcome === 'ok' && o.readValues !== undefined;

/** `later` was invoked after `earlier` was acknowledged (in the history's total order) */
function startsAfter(later: OpRecord, earlier: OpRecord): boolean {
  return earlier.endSeq !== undefined && later.startSeq > earlier.endSeq;
}

/**
 * Could write x have touched what read g saw? Only if x was invoked before g completed. Writes that
 * failed or never answered count too: a failed write may still have reached some replicas.
 */
function couldAffect(x: OpRecord, g: OpRecord): boolean {
  return g.endSeq !== undefined && x.startSeq < g.endSeq;
}

/**
 * Acknowledged writes are visible to later quorum reads.
 *
 * Rule: for an acknowledged put P of value v (with write quorum P.w) and an acknowledged get G of the
 * same key with G.r + P.w > n that was invoked after P was acknowledged, v is among G's siblings —
 * unless some write X (put or delete, whatever its outcome) that carries the context of a read which
 * saw v, and that was invoked before G completed, superseded it.
 *
 * Why this is sound (no false alarms) when no node is down and replicas are the key's N primaries
 * (messages may be delayed, lost, duplicated, reordered): P reached at least P.w of the N replicas and
 * G heard from G.r of them, so they share a replica; that replica keeps v or a version whose causal
 * history covers v. Per the API contract a write supersedes exactly the versions its context's read
 * saw, and values are unique per write, so the only way to cover v is a write carrying the context of
 * a read that returned v (directly, or transitively — but the first link of any chain is such a write,
 * and it started earlier still). Not sound with sloppy quorums under node failures: do not apply it
 * to histories with crashes or partitions.
 */
export function checkAcknowledgedWritesVisible(ops: readonly OpRecord[], options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  const byKey = groupByKey(ops);
  for (const keyOps of byKey.values()) {
    const puts = keyOps.filter((o) => o.kind === 'put' && o.outcome === 'ok' && o.value !== undefined && o.w !== undefined);
    const reads = keyOps.filter(okRead);
    const writes = keyOps.filter(isWrite);
    for (const p of puts) {
      for (const g of reads) {
        if (g.r === undefined || g.r + p.w! <= options.n || !startsAfter(g, p)) continue;
        if (g.readValues!.includes(p.value!)) continue;
        const superseder = writes.find((x) => x.supersedes.includes(p.value!) && couldAffect(x, g));
        if (superseder) continue;
        violations.push({
          checker: 'acknowledged-writes-visible',
          message: `acknowledged write lost: ${describeOp(p)} is missing from the later quorum read ${describeOp(g)} and no write superseded it`,
          opIds: [p.id, g.id],
        });
      }
    }
  }
  return violations;
}

/**
 * Superseded values stay gone.
 *
 * Rule: once a write X carrying the context of a read that saw v is acknowledged (write quorum X.w),
 * no acknowledged get G with G.r + X.w > n invoked after X was acknowledged returns v. Sound for the
 * same reason as above: G hears from a replica holding X's version, whose history covers v, and a
 * merge never lets a covered version back in. This is the check that catches resurrection.
 */
export function checkSupersededValuesStayGone(ops: readonly OpRecord[], options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  for (const keyOps of groupByKey(ops).values()) {
    const superseders = keyOps.filter((o) => isWrite(o) && o.outcome === 'ok' && o.w !== undefined && o.supersedes.length > 0);
    const reads = keyOps.filter(okRead);
    for (const x of superseders) {
      for (const g of reads) {
        if (g.r === undefined || g.r + x.w! <= options.n || !startsAfter(g, x)) continue;
        const back = g.readValues!.filter((v) => x.supersedes.includes(v));
        if (back.length === 0) continue;
        violations.push({
          checker: 'superseded-values-stay-gone',
          message: `superseded value(s) ${JSON.stringify(back)} came back: ${describeOp(x)} superseded them, yet the later quorum read ${describeOp(g)} returned them`,
          opIds: [x.id, g.id],
        });
      }
    }
  }
  return violations;
}

/**
 * Reads return only what was written, once. Rule (sound under any faults): every value a get returns
 * was written by a put of the same key invoked before the get completed, and no value appears twice
 * among one read's siblings (a duplicated or retried request must not mint a second version).
 */
export function checkReadsReturnWrittenValues(ops: readonly OpRecord[]): Violation[] {
  const violations: Violation[] = [];
  for (const keyOps of groupByKey(ops).values()) {
    const puts = keyOps.filter((o) => o.kind === 'put' && o.value !== undefined);
    for (const g of keyOps.filter(okRead)) {
      const seen = new Set<string>();
      for (const v of g.readValues!) {
        if (seen.has(v)) {
          violations.push({ checker: 'reads-return-written-values', message: `value ${JSON.stringify(v)} appears twice among the siblings of ${describeOp(g)}`, opIds: [g.id] });
        }
        seen.add(v);
        const writer = puts.find((p) => p.value === v && couldAffect(p, g));
        if (!writer) {
          violations.push({ checker: 'reads-return-written-values', message: `${describeOp(g)} returned ${JSON.stringify(v)}, which no earlier put of that key wrote`, opIds: [g.id] });
        }
      }
    }
  }
  return violations;
}

/**
 * PN-counter bounds. With per-node totals merged by maximum, every increment counts once, and an
 * acknowledged one is seen by any later read whose quorum intersects its write quorum.
 *
 * Rule, for a read G of a counter key that returned value v (and, with only the "any outcome" terms,
 * for the value an increment returns):
 *   v <= (sum of positive deltas of increments invoked before G completed, any outcome)
 *        - (sum of |negative deltas| of acknowledged increments completed before G started with G.r + w > n)
 *   v >= (sum of positive deltas of acknowledged increments completed before G started with G.r + w > n)
 *        - (sum of |negative deltas| of increments invoked before G completed, any outcome)
 * The upper bound (sound under any faults) catches double counting, e.g. a duplicated request
 * applied twice; the lower bound (sound without node failures) catches lost increments.
 */
export function checkCounterBounds(ops: readonly OpRecord[], options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  for (const keyOps of groupByKey(ops).values()) {
    const increments = keyOps.filter((o) => o.kind === 'increment' && o.delta !== undefined);
    if (increments.length === 0) continue;
    for (const g of keyOps) {
      if (g.outcome !== 'ok' || g.counterValue === undefined) continue;
      const quorum = g.kind === 'get' && g.r !== undefined;
      let upper = 0n;
      let lower = 0n;
      for (const x of increments) {
        const delta = BigInt(x.delta!);
        const invokedBefore = couldAffect(x, g) || x === g;
        const surelySeen = quorum && x.outcome === 'ok' && x.w !== undefined && g.r! + x.w > options.n && startsAfter(g, x);
        if (delta > 0n) {
          if (invokedBefore) upper += delta;
          if (surelySeen) lower += delta;
        } else {
          if (invokedBefore) lower += delta;
          if (surelySeen) upper += delta;
        }
      }
      const v = BigInt(g.counterValue);
      if (v > upper || v < lower) {
        violations.push({
          checker: 'counter-bounds',
          message: `${describeOp(g)} saw ${v}, outside the possible range [${lower}, ${upper}] given the increments before it${v > upper ? ' (an increment counted twice, or a decrement lost?)' : ' (an increment lost, or a decrement counted twice?)'}`,
          opIds: [g.id],
        });
      }
    }
  }
  return violations;
}

export interface LivenessOptions {
  /** no acknowledged or failed op may take longer than this */
  maxOpMs: number;
  /** ops whose coordinator crashed mid-call: allowed to stay pending */
  crashedOpIds?: ReadonlySet<number>;
}

/** Every op answers within a bound, success or error: a node never hangs on a request. */
export function checkLiveness(ops: readonly OpRecord[], options: LivenessOptions): Violation[] {
  const violations: Violation[] = [];
  for (const o of ops) {
    if (o.outcome === 'pending') {
      if (!options.crashedOpIds?.has(o.id)) violations.push({ checker: 'liveness', message: `never answered: ${describeOp(o)}`, opIds: [o.id] });
    } else if (o.endMs! - o.startMs > options.maxOpMs) {
      violations.push({ checker: 'liveness', message: `took ${o.endMs! - o.startMs} ms (limit ${options.maxOpMs} ms): ${describeOp(o)}`, opIds: [o.id] });
    }
  }
  return violations;
}

function groupByKey(ops: readonly OpRecord[]): Map<string, OpRecord[]> {
  const byKey = new Map<string, OpRecord[]>();
  for (const o of ops) {
    let list = byKey.get(o.key);
    if (!list) byKey.set(o.key, (list = []));
    list.push(o);
  }
  return byKey;
}
