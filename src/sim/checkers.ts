import { ERROR_CODES, type ErrorCode } from '../core/errors.js';
import type { NodeId } from '../core/member.js';
import { describeOp, type OpRecord } from './history.js';

/**
 * Checkers read a recorded history (and, for convergence, the replicas' stored objects) and report
 * what the API contract forbids. Each one states when it is SOUND — when a correct ringkv can never
 * trip it — and scenarios turn on exactly the checkers that are sound for their faults.
 *
 * The contract they encode (README, consistency section):
 * - a write with the context of a read supersedes exactly the versions that read saw; a PUT's
 *   returned context supersedes that PUT's own version on every replica; a write without a context
 *   is concurrent (a sibling);
 * - counters are PN-counters with observed-remove deletes: a DEL with a read's context removes exactly
 *   the increments that read observed; later INCRs count from there;
 * - a write that failed with a 4xx was not applied; any other failure (5xx, CONNECTION_LOST, no
 *   answer) may or may not have been: such writes are "maybe" everywhere below.
 *
 * Replicas are the N primaries of a key, so a read quorum R and a write quorum W with R + W > N
 * share a replica whatever is partitioned or down. Without gossip membership that holds as it is:
 * SimCluster then runs ClusterNode with a static member list and no liveness view, every peer counts
 * as live, and no stand-in ever takes a primary's place (no sloppy quorum, no hints). With gossip
 * membership a write's W may count stand-ins (sloppy quorum): then `sloppy` is set and a write counts
 * for intersection only with the primaries it surely reached — its pw when it was strict, else 1 (the
 * coordinator that minted the version is a primary and stores it before replicating). Reads ask only
 * primaries, so R always counts primaries. Across ring changes the argument carries over: a write
 * acknowledged under the old ring is pulled by every new replica from every old one (the final pull
 * of a transfer follows every member's install of the pending ring and a request timeout), and one
 * acknowledged during the change reached W of each ring's replicas (a joint quorum).
 */
export interface Violation {
  /** which checker found it */
  checker: string;
  message: string;
  /** the ops involved, for the report */
  opIds: number[];
}

/**
 * A moment some node's stored state went backwards (a crash in `periodic` sync mode, a replaced
 * disk): writes that node applied after lostSinceMs may be gone. Times are the history's
 * (virtual ms since the run started).
 */
export interface DataLossEvent {
  node: NodeId;
  atMs: number;
  lostSinceMs: number;
}

export interface CheckOptions {
  /** replicas per key */
  n: number;
  /**
   * every data-loss event of the run. An acknowledged write counts as durable — and so as something
   * a later read must see — only if no loss event at one of the key's replicas could have undone it:
   * none that happened after the write started and reaches back to before it was acknowledged.
   * Absent = no node ever lost acknowledged data (memory engine, or `batch` sync).
   */
  dataLoss?: readonly DataLossEvent[];
  /** the key's replicas; absent = a loss event at any node counts for every key */
  replicasOf?: (key: string) => readonly NodeId[];
  /**
   * sloppy quorums are on (gossip membership): a write counts with pw primaries when strict, else
   * with one (its coordinator) @default false
   */
  sloppy?: boolean;
  /**
   * count data loss per replica: a write that surely reached q primaries still surely sits on
   * q − L of them after loss events at L distinct replicas of its key (each event can undo one
   * replica's copy, and transfers carry it to new replicas from any old one that kept it) @default
   * false: any loss event at one of the key's replicas takes the write out of the checks
   */
  lossPerReplica?: boolean;
}

const isWrite = (o: OpRecord): boolean => o.kind === 'put' || o.kind === 'delete';
const okRead = (o: OpRecord): boolean => o.kind === 'get' && o.outcome === 'ok' && o.readValues !== undefined;

/** `later` was invoked after `earlier` was acknowledged (in the history's total order) */
function startsAfter(later: OpRecord, earlier: OpRecord): boolean {
  return earlier.endSeq !== undefined && later.startSeq > earlier.endSeq;
}

/** x was invoked before o completed: x may have reached replicas before o looked */
function invokedBefore(x: OpRecord, o: OpRecord): boolean {
  return o.endSeq !== undefined && x.startSeq < o.endSeq;
}

/** a write that failed with a 4xx was refused before anything was stored; every other outcome may have been applied */
export function mayHaveApplied(o: OpRecord): boolean {
  if (o.outcome !== 'error') return true;
  const known = o.errorCode !== undefined && o.errorCode in ERROR_CODES ? ERROR_CODES[o.errorCode as ErrorCode] : undefined;
  return known === undefined || known.httpStatus >= 500;
}

/** the primaries a write surely reached: its w — or, with sloppy quorums, its pw (else its coordinator alone) */
function primaryQuorum(o: OpRecord, options: CheckOptions): number {
  if (!options.sloppy) return o.w ?? 0;
  return o.pw ?? 1;
}

/**
 * How many primaries surely still hold an acknowledged write (0: none surely does, or it was not
 * acknowledged): its primary quorum, less what data-loss events at its key's replicas may have undone
 * — a loss that happened after the write started and reaches back to before it was acknowledged.
 */
function durableQuorum(o: OpRecord, options: CheckOptions): number {
  if (o.outcome !== 'ok' || o.endMs === undefined) return 0;
  const q = primaryQuorum(o, options);
  if (!options.dataLoss?.length) return q;
  const replicas = options.replicasOf?.(o.key);
  const lost = new Set(options.dataLoss.filter((e) => (!replicas || replicas.includes(e.node)) && e.atMs >= o.startMs && e.lostSinceMs <= o.endMs!).map((e) => e.node));
  if (lost.size === 0) return q;
  return options.lossPerReplica ? Math.max(0, q - lost.size) : 0;
}

/** Acknowledged, and surely still held by some primary. */
export function durablyAcknowledged(o: OpRecord, options: CheckOptions): boolean {
  return durableQuorum(o, options) > 0;
}

/** read quorum r and write quorum w share a replica */
function quorumsMeet(r: number | undefined, w: number | undefined, n: number): boolean {
  return r !== undefined && w !== undefined && r + w > n;
}

/** a read (or INCR) quorum q and write x, durably acknowledged, share a primary */
function meetsDurable(q: number | undefined, x: OpRecord, options: CheckOptions): boolean {
  const w = durableQuorum(x, options);
  return w > 0 && quorumsMeet(q, w, options.n);
}

/**
 * Acknowledged writes are visible to later quorum reads.
 *
 * Rule: for a durably acknowledged put P of value v (write quorum P.w) and an acknowledged get G of
 * the same key with G.r + P.w > n invoked after P was acknowledged, v is among G's siblings — unless
 * some write X (put or delete, whatever its outcome, unless it failed with a 4xx) whose context
 * covers v and that was invoked before G completed superseded it.
 *
 * SOUND under message delay, loss, duplication, reordering and connection resets, partitions, clock
 * skew, and crashes of nodes whose disks are durable (memory engine, LSM in `batch` mode): P reached
 * P.w of the key's N primaries and G heard from G.r of them, so they share one, and a replica only
 * ever replaces v by a version whose history covers v. Covering v takes a context that covers it (a
 * read that returned v, or the context P itself returned) — values are unique per write, and the
 * first link of any chain of contexts is such a write, invoked earlier still. NOT sound for a put
 * that a crash in `periodic` mode or a replaced disk may have undone at a replica: with `dataLoss`
 * given, those puts are skipped (a put acknowledged after the loss is checked again — that is what
 * catches a replica that re-minted dots it had handed out before its state went backwards).
 */
export function checkAcknowledgedWritesVisible(ops: readonly OpRecord[], options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  for (const keyOps of groupByKey(ops).values()) {
    const puts = keyOps.filter((o) => o.kind === 'put' && o.value !== undefined && durablyAcknowledged(o, options));
    const reads = keyOps.filter(okRead);
    const writes = keyOps.filter((o) => isWrite(o) && mayHaveApplied(o));
    for (const p of puts) {
      for (const g of reads) {
        if (!meetsDurable(g.r, p, options) || !startsAfter(g, p)) continue;
        if (g.readValues!.includes(p.value!)) continue;
        if (writes.some((x) => x.supersedes.includes(p.value!) && invokedBefore(x, g))) continue;
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
 * Superseded values stay gone: once a put X whose context covers v is durably acknowledged (write
 * quorum X.w), no acknowledged get G with G.r + X.w > n invoked after X was acknowledged returns v.
 * This catches resurrection, and a PUT's returned context that fails to supersede the PUT's own
 * version at a replica that had not seen it yet.
 *
 * SOUND under the same conditions as checkAcknowledgedWritesVisible: G hears from a replica holding
 * X's version, whose history covers v, and a merge never lets a covered version back in.
 */
export function checkSupersededValuesStayGone(ops: readonly OpRecord[], options: CheckOptions): Violation[] {
  return checkCoveredValuesGone(ops, options, 'put', 'superseded-values-stay-gone');
}

/**
 * Deletes stay deleted: once a delete D whose context covers v is durably acknowledged (write quorum
 * D.w), no acknowledged get G with G.r + D.w > n invoked after D was acknowledged returns v — the
 * deleted value does not come back, whatever replica was stale. (For counters, see
 * checkCounterBounds: removed increments stay removed.)
 *
 * SOUND under the same conditions as checkAcknowledgedWritesVisible (a tombstone is a version like
 * any other; it is reaped only once every replica holds it).
 */
export function checkDeletesStayDeleted(ops: readonly OpRecord[], options: CheckOptions): Violation[] {
  return checkCoveredValuesGone(ops, options, 'delete', 'deletes-stay-deleted');
}

function checkCoveredValuesGone(ops: readonly OpRecord[], options: CheckOptions, kind: 'put' | 'delete', checker: string): Violation[] {
  const violations: Violation[] = [];
  for (const keyOps of groupByKey(ops).values()) {
    const coverers = keyOps.filter((o) => o.kind === kind && o.supersedes.length > 0 && durablyAcknowledged(o, options));
    const reads = keyOps.filter(okRead);
    for (const x of coverers) {
      for (const g of reads) {
        if (!meetsDurable(g.r, x, options) || !startsAfter(g, x)) continue;
        const back = g.readValues!.filter((v) => x.supersedes.includes(v));
        if (back.length === 0) continue;
        violations.push({
          checker,
          message: `${kind === 'delete' ? 'deleted' : 'superseded'} value(s) ${JSON.stringify(back)} came back: ${describeOp(x)} covered them, yet the later quorum read ${describeOp(g)} returned them`,
          opIds: [x.id, g.id],
        });
      }
    }
  }
  return violations;
}

/**
 * Reads return only what was written, once. Rule: every value a get returns was written by a put of
 * the same key invoked before the get completed (and not refused with a 4xx), and no value appears
 * twice among one read's siblings (a retried or duplicated write must not mint a second version).
 *
 * SOUND under every fault the simulator injects, data loss included.
 */
export function checkReadsReturnWrittenValues(ops: readonly OpRecord[]): Violation[] {
  const violations: Violation[] = [];
  for (const keyOps of groupByKey(ops).values()) {
    const puts = keyOps.filter((o) => o.kind === 'put' && o.value !== undefined && mayHaveApplied(o));
    for (const g of keyOps.filter(okRead)) {
      const seen = new Set<string>();
      for (const v of g.readValues!) {
        if (seen.has(v)) {
          violations.push({ checker: 'reads-return-written-values', message: `value ${JSON.stringify(v)} appears twice among the siblings of ${describeOp(g)}`, opIds: [g.id] });
        }
        seen.add(v);
        if (!puts.some((p) => p.value === v && invokedBefore(p, g))) {
          violations.push({ checker: 'reads-return-written-values', message: `${describeOp(g)} returned ${JSON.stringify(v)}, which no earlier put of that key wrote`, opIds: [g.id] });
        }
      }
    }
  }
  return violations;
}

/**
 * PN-counter bounds, with observed-remove deletes. Counter keys are written only by INCR and by DEL
 * with a read's context.
 *
 * The observers are acknowledged gets (value = the counter, 0 when nothing live is left) with read
 * quorum r, and acknowledged increments (value = the answer) — an INCR's answer merges what its W
 * acknowledging replicas hold, so it observes with quorum w. For an observer O and an increment x:
 * - x is possibly counted at O when it may have been applied, was invoked before O completed, and
 *   was not surely removed;
 * - x is surely counted at O when it is O itself, or was durably acknowledged before O was invoked
 *   with q(O) + x.w > n, and no delete may have removed it;
 * - a delete D (context of read G_D) surely removes x at O when D was durably acknowledged before O
 *   was invoked with q(O) + D.w > n and G_D surely observed x (x durably acknowledged before G_D was
 *   invoked, G_D.r + x.w > n); it may remove x when D may have been applied, was invoked before O
 *   completed, and x was invoked before G_D completed.
 * Then O's value lies in [surely-counted positives + possibly-counted negatives, possibly-counted
 * positives + surely-counted negatives]. Two concurrent INCRs answering the same value is allowed.
 *
 * SOUND, upper and lower, under the conditions of checkAcknowledgedWritesVisible (with `dataLoss`,
 * ops a loss may have undone only ever widen the range). The upper bound catches an increment
 * counted twice (a retried or duplicated INCR applied twice) and deleted increments coming back
 * (INCR after DEL); the lower bound catches lost increments and INCR answers computed from a stale
 * copy.
 */
export function checkCounterBounds(ops: readonly OpRecord[], options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  const byId = new Map(ops.map((o) => [o.id, o]));
  const readOf = (d: OpRecord): OpRecord | undefined => {
    const g = d.contextFromOp === undefined ? undefined : byId.get(d.contextFromOp);
    return g?.kind === 'get' ? g : undefined;
  };
  for (const keyOps of groupByKey(ops).values()) {
    const increments = keyOps.filter((o) => o.kind === 'increment' && o.delta !== undefined);
    if (increments.length === 0) continue;
    const deletes = keyOps.filter((o) => o.kind === 'delete' && readOf(o) !== undefined);
    const surelyObserved = (g: OpRecord, x: OpRecord): boolean => startsAfter(g, x) && meetsDurable(g.r, x, options);
    for (const o of keyOps) {
      const value = observedValue(o);
      if (value === undefined) continue;
      // an INCR observes through the replicas that acknowledged it: with sloppy quorums, surely only its own coordinator's copy
      const q = o.kind === 'get' ? o.r : primaryQuorum(o, options);
      const surelyRemoved = (x: OpRecord): boolean => deletes.some((d) => startsAfter(o, d) && meetsDurable(q, d, options) && surelyObserved(readOf(d)!, x));
      const possiblyRemoved = (x: OpRecord): boolean => deletes.some((d) => mayHaveApplied(d) && invokedBefore(d, o) && invokedBefore(x, readOf(d)!));
      let upper = 0n;
      let lower = 0n;
      for (const x of increments) {
        const delta = BigInt(x.delta!);
        const possibly = (x === o || (mayHaveApplied(x) && invokedBefore(x, o))) && !surelyRemoved(x);
        const surely = (x === o || (startsAfter(o, x) && meetsDurable(q, x, options))) && !possiblyRemoved(x);
        if (delta > 0n) {
          if (possibly) upper += delta;
          if (surely) lower += delta;
        } else {
          if (possibly) lower += delta;
          if (surely) upper += delta;
        }
      }
      if (value > upper || value < lower) {
        violations.push({
          checker: 'counter-bounds',
          message: `${describeOp(o)} saw ${value}, outside the possible range [${lower}, ${upper}] given the increments and deletes before it${value > upper ? ' (an increment counted twice, a deleted increment back, or a decrement lost?)' : ' (an increment lost, or a decrement counted twice?)'}`,
          opIds: [o.id],
        });
      }
    }
  }
  return violations;
}

/** the counter value an op observed: an INCR's answer, a read's counter (0 when nothing live is left) */
function observedValue(o: OpRecord): bigint | undefined {
  if (o.outcome !== 'ok') return undefined;
  if (o.kind === 'increment') return o.counterValue === undefined ? undefined : BigInt(o.counterValue);
  if (o.kind !== 'get') return undefined;
  if (o.counterValue !== undefined) return BigInt(o.counterValue);
  return o.readValues?.length === 0 ? 0n : undefined;
}

/** One key's stored object at each of its replicas, as canonical text (undefined = none stored). */
export interface ReplicaSnapshot {
  key: string;
  replicas: Array<{ node: NodeId; state: string | undefined }>;
}

export interface ConvergenceOptions {
  /**
   * the snapshot follows a full read of every key at r = n (whose read repair alone can make the
   * replicas identical) @default true. false: no read came first — the replicas must have become
   * identical by the node's own repair paths (replication, hinted handoff, anti-entropy), and the
   * violation is reported as `convergence-without-reads`
   */
  afterFullRead?: boolean;
  /** without a full read: how long the caller waited for the replicas to agree (for the report) */
  waitedMs?: number;
}

/**
 * Convergence: every replica of every key holds an identical object (same version vector counters,
 * same sibling dots and values — the canonical text the node kind's inspector makes). A replica
 * holding nothing while another holds an object counts as divergent.
 *
 * After a full read (the default), SOUND under every fault, data loss included, provided the
 * snapshot is taken after every node is up, the network is clean again, every key was read at r = n
 * successfully and the read repairs had time to land: the merged object a full read sends to each
 * stale replica merges to the same result everywhere (the merge is commutative, associative and
 * idempotent).
 *
 * Without reads (`afterFullRead: false`, checker `convergence-without-reads`), SOUND when the
 * snapshot is taken on a clean network with every replica up and the ring stable, after a wait that
 * covers the repair paths the run relies on: with anti-entropy on, at least two exchange periods
 * (every replica pair of every partition exchanges within one period, and an exchange leaves both
 * sides with the merge of what they held, so once every pair of a key's replicas has exchanged after
 * the last write they agree); with anti-entropy off, only hinted handoff repairs without reads, so
 * the run must not have lost a replica's copy any other way (no message loss, no write in flight to
 * a node when it crashed) and the wait must cover a replay (the target seen up, a sweep, the rate).
 */
export function checkConvergence(snapshots: readonly ReplicaSnapshot[], options: ConvergenceOptions = {}): Violation[] {
  const afterFullRead = options.afterFullRead ?? true;
  const violations: Violation[] = [];
  for (const snap of snapshots) {
    const distinct = new Set(snap.replicas.map((r) => r.state ?? '(nothing)'));
    if (distinct.size <= 1) continue;
    const lines = snap.replicas.map((r) => `${r.node}: ${r.state ?? '(nothing)'}`).join('; ');
    violations.push(
      afterFullRead
        ? { checker: 'convergence', message: `replicas of ${JSON.stringify(snap.key)} still differ after a full read at r=n: ${lines}`, opIds: [] }
        : {
            checker: 'convergence-without-reads',
            message: `replicas of ${JSON.stringify(snap.key)} still differ ${options.waitedMs ?? 0} ms after the faults were repaired, with no read to repair them: ${lines}`,
            opIds: [],
          },
    );
  }
  return violations;
}

export interface LivenessOptions {
  /** no acknowledged or failed op may take longer than this */
  maxOpMs: number;
  /** ops whose coordinator crashed mid-call: allowed to stay pending */
  crashedOpIds?: ReadonlySet<number>;
}

/**
 * Every op answers within a bound, success or error: a node never hangs on a request. SOUND under
 * every fault, for ops whose coordinator stayed up — wall-clock steps included, because a node
 * measures its timeouts with Clock.setTimer (which runs on elapsed time), never by comparing
 * Clock.nowMs() readings: a deadline taken from the wall clock stretches when the clock is stepped
 * back, and the clock-skew family catches that.
 */
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
