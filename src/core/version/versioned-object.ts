import { RingkvError } from '../errors.js';
import type { CausalContext } from './context-token.js';
import { hlcCompare, type Hlc } from './hlc.js';
import { pnAdd, pnMerge, pnValueAbove, type PnCounter } from './pn-counter.js';
import { vvAdvance, vvCovers, vvGet, vvMerge, type Dot, type VersionVector } from './version-vector.js';

export type SiblingValue = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'tombstone' } | { kind: 'counter'; counter: PnCounter };

export interface Sibling {
  dot: Dot;
  hlc: Hlc;
  value: SiblingValue;
}

/**
 * What a replica stores for one key: a dotted-version-vector set.
 * - `vv` summarises the dots this object has seen contiguously: entry `a: c` = every dot (a, 1..c).
 *   Dots are minted only by a replica holding the key, under an actor that is never reused with
 *   another history (node id + incarnation tag, see src/cluster/node-identity.ts), from that actor's
 *   entry here, so "seen (a, 1..c)" is true.
 * - `seen` holds dots seen (and superseded) outside those ranges — the PUT-returned context names one
 *   single dot, and a write with it must supersede that version on every replica, even one that has
 *   not received it yet. Sorted; none covered by vv.
 * - `siblings`: the versions not superseded, an antichain; every sibling's dot is seen by the object.
 * - `counterFloor`: PN totals of counter increments removed by deletes and overwrites
 *   (observed-remove): a counter's value counts only what lies above it, per actor.
 * A version that an object has seen but does not hold was superseded: merges never let it back in.
 */
export interface VersionedObject {
  vv: VersionVector;
  siblings: Sibling[];
  seen?: Dot[];
  counterFloor?: PnCounter;
  /**
   * when the key was last deleted (HLC wall ms of the latest delete this object has seen): a key whose
   * object holds no live version is reaped only a grace period after it
   */
  deletedAtMs?: number;
}

export interface WriteLimits {
  siblingLimitCount: number;
}

export const EMPTY_OBJECT: VersionedObject = { vv: [], siblings: [] };

export const dotKey = (d: Dot): string => `${d.counter}@${d.node}`;

function compareDots(a: Dot, b: Dot): number {
  return a.node < b.node ? -1 : a.node > b.node ? 1 : a.counter - b.counter;
}

function sameDot(a: Dot, b: Dot): boolean {
  return a.node === b.node && a.counter === b.counter;
}

/** has obj seen this dot (held, superseded, or covered by its vv)? */
export function objectHasSeen(obj: VersionedObject, dot: Dot): boolean {
  if (vvCovers(obj.vv, dot)) return true;
  if (obj.seen) for (const d of obj.seen) if (sameDot(d, dot)) return true;
  return false;
}

/** did the client's context see this dot? */
function contextHasSeen(context: CausalContext, dot: Dot): boolean {
  if (vvCovers(context.vv, dot)) return true;
  for (const d of context.dots) if (sameDot(d, dot)) return true;
  return false;
}

/**
 * A delete leaves no sibling behind: the object's vector (and seen dots) already record every
 * version it superseded, and a merge never lets a seen version back in. So sibling sets hold live
 * versions only — which keeps the merge a true join (with kept tombstones, which one survived
 * depended on the order of merges). A key whose object holds no sibling reads as deleted.
 */
function normalize(siblings: Sibling[]): Sibling[] {
  return siblings.filter((s) => s.value.kind !== 'tombstone').sort((a, b) => compareDots(a.dot, b.dot));
}

/** Which of two versions under one dot to keep (only if a dot were ever reused): the same choice in any merge order. */
function pickTwin(a: Sibling, b: Sibling): Sibling {
  if (a === b) return a;
  const byHlc = hlcCompare(a.hlc, b.hlc);
  if (byHlc !== 0) return byHlc > 0 ? a : b;
  return compareValues(a.value, b.value) >= 0 ? a : b;
}

function compareValues(a: SiblingValue, b: SiblingValue): number {
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.kind === 'bytes' && b.kind === 'bytes') return Buffer.compare(a.bytes, b.bytes);
  if (a.kind === 'counter' && b.kind === 'counter') {
    const x = JSON.stringify(a.counter);
    const y = JSON.stringify(b.counter);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return 0;
}

/**
 * Folds single seen dots into vv where they extend a contiguous range, and drops the ones vv covers.
 * Returns the (possibly advanced) vv and the remaining dots, sorted.
 */
function compactSeen(vv: VersionVector, dots: readonly Dot[]): { vv: VersionVector; seen: Dot[] } {
  if (dots.length === 0) return { vv, seen: [] };
  const pending = dots.filter((d) => !vvCovers(vv, d)).sort(compareDots);
  let out = vv;
  const rest: Dot[] = [];
  for (const d of pending) {
    if (rest.length > 0 && sameDot(rest[rest.length - 1], d)) continue;
    // sorted by (node, counter): a run (a, c+1), (a, c+2)… right above vv's entry joins it
    if (d.counter === vvGet(out, d.node) + 1) out = vvAdvance(out, d.node, d.counter);
    else rest.push(d);
  }
  return { vv: out, seen: rest };
}

/** the stored shape: optional fields only when non-empty, so equal knowledge encodes equally */
function build(vv: VersionVector, siblings: Sibling[], seen: Dot[], counterFloor: PnCounter | undefined, deletedAtMs: number | undefined): VersionedObject {
  const obj: VersionedObject = { vv, siblings };
  if (seen.length > 0) obj.seen = seen;
  if (counterFloor && counterFloor.length > 0) obj.counterFloor = counterFloor;
  // kept (the latest seen) even while a live version exists, so that merges stay a join: dropping it
  // when some input had a live sibling made the result depend on the order of the merges
  if (deletedAtMs !== undefined) obj.deletedAtMs = deletedAtMs;
  return obj;
}

/**
 * The actor a replica mints a key's next version under. `base` is the node's actor for its current
 * incarnation (`n1#tag`). A key the replica holds no object for gets a fresh per-key actor
 * (`n1#tag.<hlc>`): the key may have existed before — deleted and reaped, or dropped with a partition
 * the node handed away — and a stale copy with this node's old dots may still come back, so restarting
 * the key's counter under an actor that minted it before would reuse a dot (Riak's kv679; Riak's fix
 * is the same per-key actor epoch). A key the replica holds keeps the newest of this incarnation's
 * actors found in it (the one whose history this replica has in full), else `base`.
 */
export function actorForKey(local: VersionedObject | undefined, base: string, hlc: Hlc): string {
  if (!local) return `${base}.${hlc.wallMs.toString(36).padStart(9, '0')}${hlc.logical.toString(36).padStart(3, '0')}`;
  let best: string | undefined;
  const prefix = `${base}.`;
  for (const e of local.vv) {
    if (e.node === base) best ??= base;
    else if (e.node.startsWith(prefix) && (best === undefined || best === base || e.node > best)) best = e.node;
  }
  return best ?? base;
}

/** is this actor one of the node's current incarnation (its base actor or a per-key one)? */
export function isOwnActor(actor: string, base: string): boolean {
  return actor === base || actor.startsWith(`${base}.`);
}

/**
 * True when the context (or the object itself) says this actor minted a dot for this key that the
 * object does not cover: the replica's stored state went backwards, and minting under the actor
 * again would reuse a dot already handed out. The caller must take a new actor first.
 */
export function actorBehind(local: VersionedObject | undefined, context: CausalContext, actor: string): boolean {
  const have = local ? vvGet(local.vv, actor) : 0;
  if (vvGet(context.vv, actor) > have) return true;
  for (const d of context.dots) if (d.node === actor && d.counter > have) return true;
  if (local?.seen) for (const d of local.seen) if (d.node === actor && d.counter > have) return true;
  return false;
}

/**
 * Applies a client write at a replica under `actor`: drops exactly the siblings the client's context
 * saw, mints the next dot for the actor, and adds the new value. The new object has seen everything
 * the context saw (its vv, its single dots) — so the write supersedes those versions on every replica
 * it meets — and, when the context observed a counter, raises the counter floor to it
 * (observed-remove). The caller must have checked actorBehind() first. Throws TOO_MANY_SIBLINGS
 * rather than grow past the limit.
 */
export function applyWrite(
  current: VersionedObject | undefined,
  context: CausalContext,
  actor: string,
  value: SiblingValue,
  hlc: Hlc,
  limits: WriteLimits,
): VersionedObject {
  const base = current ?? EMPTY_OBJECT;
  const survivors = base.siblings.filter((s) => !contextHasSeen(context, s.dot));
  const counter = vvGet(base.vv, actor) + 1;
  const dot: Dot = { node: actor, counter };
  const siblings = normalize([...survivors, { dot, hlc, value }]);
  const live = siblings.filter((s) => s.value.kind !== 'tombstone').length;
  if (live > limits.siblingLimitCount) {
    throw new RingkvError(
      'TOO_MANY_SIBLINGS',
      `write refused: the key would have ${live} siblings, over the limit of ${limits.siblingLimitCount} (siblingLimitCount); read the key and write with its context to merge them`,
    );
  }
  const vv = vvAdvance(vvMerge(base.vv, context.vv), actor, counter);
  const compacted = compactSeen(vv, [...(base.seen ?? []), ...context.dots]);
  const floor = context.counter && context.counter.length > 0 ? pnMerge(base.counterFloor ?? [], context.counter) : base.counterFloor;
  const deletedAtMs = value.kind === 'tombstone' ? Math.max(base.deletedAtMs ?? 0, hlc.wallMs) : base.deletedAtMs;
  return build(compacted.vv, siblings, compacted.seen, floor, deletedAtMs);
}

/**
 * A counter increment at a replica under `actor`: folds every live sibling into one PN-counter and
 * supersedes them all — but leaves the counter floor alone, since an increment removes nothing. An
 * integer-looking plain value is taken as the counter's starting point, as Redis INCR does. The new
 * totals start from the floor, so each actor's totals only ever grow and the floor subtracts exactly
 * what deletes removed. Throws NOT_AN_INTEGER for a non-integer value or a result outside int64.
 */
export function applyIncrement(current: VersionedObject | undefined, actor: string, delta: bigint, hlc: Hlc, limits: WriteLimits): VersionedObject {
  const floor = current?.counterFloor ?? [];
  let counter: PnCounter = floor;
  for (const s of current ? liveSiblings(current) : []) {
    if (s.value.kind === 'counter') counter = pnMerge(counter, s.value.counter);
    else if (s.value.kind === 'bytes') {
      const text = Buffer.from(s.value.bytes).toString('latin1');
      if (!/^-?\d{1,20}$/.test(text)) throw new RingkvError('NOT_AN_INTEGER', 'value is not an integer or out of range');
      counter = pnAdd(counter, `${s.dot.node}#${s.dot.counter}`, BigInt(text), floor);
    }
  }
  const supersedeAll: CausalContext = current ? { vv: current.vv, dots: current.seen ?? [] } : { vv: [], dots: [] };
  return applyWrite(current, supersedeAll, actor, { kind: 'counter', counter: pnAdd(counter, actor, delta, floor) }, hlc, limits);
}

/** The context naming exactly one version: what its writer had seen, plus its own dot. */
export function contextOfWrite(writtenDot: Dot, clientContext: CausalContext): CausalContext {
  const ctx: CausalContext = { vv: clientContext.vv, dots: [...clientContext.dots, writtenDot] };
  if (clientContext.counter) ctx.counter = clientContext.counter;
  return ctx;
}

/** The context of a read: everything the (merged) object has seen, and the counter state it observed. */
export function contextOfRead(obj: VersionedObject): CausalContext {
  const ctx: CausalContext = { vv: obj.vv, dots: obj.seen ?? [] };
  const observed = observedCounter(obj);
  if (observed) ctx.counter = observed;
  return ctx;
}

/** the PN totals a read of obj has observed (live counters and the floor), undefined when none */
export function observedCounter(obj: VersionedObject): PnCounter | undefined {
  let c: PnCounter | undefined = obj.counterFloor;
  for (const s of obj.siblings) if (s.value.kind === 'counter') c = c ? pnMerge(c, s.value.counter) : s.value.counter;
  return c && c.length > 0 ? c : undefined;
}

/** the merged PN totals of the live counter siblings, undefined when the key holds no counter */
export function liveCounter(obj: VersionedObject): PnCounter | undefined {
  let c: PnCounter | undefined;
  for (const s of obj.siblings) if (s.value.kind === 'counter') c = c ? pnMerge(c, s.value.counter) : s.value.counter;
  return c;
}

/** a counter key's value: what its live counters hold above the floor; undefined when not a counter */
export function counterValue(obj: VersionedObject): bigint | undefined {
  const c = liveCounter(obj);
  return c === undefined ? undefined : pnValueAbove(c, obj.counterFloor ?? []);
}

/**
 * Merges two replicas' objects for the same key (replication, read repair, anti-entropy). A sibling
 * survives unless the other side has seen its dot without keeping it (it was superseded there).
 * Commutative, associative and idempotent. Two siblings with one dot are one version (dots are never
 * reused); should they differ anyway, pickTwin keeps the same one whatever the order.
 */
export function syncObjects(a: VersionedObject, b: VersionedObject): VersionedObject {
  const bByDot = new Map(b.siblings.map((s) => [dotKey(s.dot), s]));
  const aDots = new Set<string>();
  const out: Sibling[] = [];
  for (const s of a.siblings) {
    const k = dotKey(s.dot);
    aDots.add(k);
    const twin = bByDot.get(k);
    if (twin) out.push(pickTwin(s, twin));
    else if (!objectHasSeen(b, s.dot)) out.push(s);
  }
  for (const s of b.siblings) if (!aDots.has(dotKey(s.dot)) && !objectHasSeen(a, s.dot)) out.push(s);
  const vv = vvMerge(a.vv, b.vv);
  const compacted = a.seen || b.seen ? compactSeen(vv, [...(a.seen ?? []), ...(b.seen ?? [])]) : { vv, seen: [] };
  const floor = a.counterFloor && b.counterFloor ? pnMerge(a.counterFloor, b.counterFloor) : (a.counterFloor ?? b.counterFloor);
  const deletedAtMs = a.deletedAtMs === undefined ? b.deletedAtMs : b.deletedAtMs === undefined ? a.deletedAtMs : Math.max(a.deletedAtMs, b.deletedAtMs);
  return build(compacted.vv, normalize(out), compacted.seen, floor, deletedAtMs);
}

export function liveSiblings(obj: VersionedObject): Sibling[] {
  return obj.siblings.filter((s) => s.value.kind !== 'tombstone');
}

/** True when both objects hold the same knowledge (vv counters, sibling dots, seen dots, counter floor). */
export function sameVersion(a: VersionedObject, b: VersionedObject): boolean {
  if (a.vv.length !== b.vv.length || a.siblings.length !== b.siblings.length) return false;
  for (let i = 0; i < a.vv.length; i++) if (a.vv[i].node !== b.vv[i].node || a.vv[i].counter !== b.vv[i].counter) return false;
  for (let i = 0; i < a.siblings.length; i++) if (!sameDot(a.siblings[i].dot, b.siblings[i].dot)) return false;
  const as = a.seen ?? [];
  const bs = b.seen ?? [];
  if (as.length !== bs.length) return false;
  for (let i = 0; i < as.length; i++) if (!sameDot(as[i], bs[i])) return false;
  if (a.deletedAtMs !== b.deletedAtMs) return false;
  return samePn(a.counterFloor ?? [], b.counterFloor ?? []);
}

function samePn(a: PnCounter, b: PnCounter): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].node !== b[i].node || a[i].inc !== b[i].inc || a[i].dec !== b[i].dec) return false;
  return true;
}

/** Last writer wins by HLC, ties broken by writer id: the rule RESP GET documents. */
export function lastWriterWins<T extends { hlc: Hlc; dot: Dot }>(siblings: T[]): T | undefined {
  let best: T | undefined;
  for (const s of siblings) {
    if (!best) best = s;
    else {
      const c = hlcCompare(s.hlc, best.hlc) || (s.dot.node > best.dot.node ? 1 : s.dot.node < best.dot.node ? -1 : 0);
      if (c > 0) best = s;
    }
  }
  return best;
}
