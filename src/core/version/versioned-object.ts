import { RingkvError } from '../errors.js';
import type { CausalContext } from './context-token.js';
import type { NodeId } from '../member.js';
import { hlcCompare, type Hlc } from './hlc.js';
import type { PnCounter } from './pn-counter.js';
import { vvAdvance, vvCovers, vvGet, vvMerge, vvPrune, type Dot, type VersionVector } from './version-vector.js';

export type SiblingValue = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'tombstone' } | { kind: 'counter'; counter: PnCounter };

export interface Sibling {
  dot: Dot;
  hlc: Hlc;
  value: SiblingValue;
}

/**
 * What a replica stores for one key: a dotted-version-vector set. `vv` summarises every dot this
 * object has seen (held or superseded); every sibling's dot is covered by `vv`, and no sibling
 * supersedes another. Dots are minted only by a replica that holds the key (the coordinating
 * replica), from its own entry, so a node's dots for a key are contiguous and `vv` can say
 * "seen (n, 1..c)" truthfully.
 */
export interface VersionedObject {
  vv: VersionVector;
  siblings: Sibling[];
}

export interface WriteLimits {
  siblingLimitCount: number;
  vclockPruneCount: number;
  vclockPruneAgeMs: number;
}

export const EMPTY_OBJECT: VersionedObject = { vv: [], siblings: [] };

const dotKey = (d: Dot): string => `${d.counter}@${d.node}`;

function compareDots(a: Dot, b: Dot): number {
  return a.node < b.node ? -1 : a.node > b.node ? 1 : a.counter - b.counter;
}

/**
 * Tombstones matter only while nothing live exists: with a live sibling they are dropped; with none,
 * one (the greatest dot) is enough. Dropped dots stay covered by vv, so replicas converge.
 */
function normalize(siblings: Sibling[]): Sibling[] {
  const live = siblings.filter((s) => s.value.kind !== 'tombstone');
  const kept = live.length > 0 ? live : siblings.length > 0 ? [siblings.reduce((a, b) => (compareDots(a.dot, b.dot) >= 0 ? a : b))] : [];
  return kept.sort((a, b) => compareDots(a.dot, b.dot));
}

/**
 * Applies a client write at replica `writer`: drops exactly the siblings the client's context saw,
 * mints the next dot for `writer`, and adds the new value. Throws TOO_MANY_SIBLINGS rather than grow
 * past the limit.
 */
export function applyWrite(
  current: VersionedObject | undefined,
  context: CausalContext,
  writer: NodeId,
  value: SiblingValue,
  hlc: Hlc,
  nowMs: number,
  limits: WriteLimits,
): VersionedObject {
  const base = current ?? EMPTY_OBJECT;
  const seenDots = new Set(context.dots.map(dotKey));
  const survivors = base.siblings.filter((s) => !vvCovers(context.vv, s.dot) && !seenDots.has(dotKey(s.dot)));
  const ownDots = context.dots.filter((d) => d.node === writer).map((d) => d.counter);
  const counter = Math.max(vvGet(base.vv, writer), vvGet(context.vv, writer), ...ownDots) + 1;
  const dot: Dot = { node: writer, counter };
  const siblings = normalize([...survivors, { dot, hlc, value }]);
  const live = siblings.filter((s) => s.value.kind !== 'tombstone').length;
  if (live > limits.siblingLimitCount) {
    throw new RingkvError(
      'TOO_MANY_SIBLINGS',
      `write refused: the key would have ${live} siblings, over the limit of ${limits.siblingLimitCount} (siblingLimitCount); read the key and write with its context to merge them`,
    );
  }
  const merged = vvAdvance(vvMerge(base.vv, contextWithTime(context.vv, nowMs)), writer, counter, nowMs);
  const keep = new Set(siblings.map((s) => s.dot.node));
  return { vv: vvPrune(merged, keep, limits.vclockPruneCount, limits.vclockPruneAgeMs, nowMs), siblings };
}

/** The context naming exactly one version: what its writer had seen, plus its own dot. */
export function contextOfWrite(written: Sibling, clientContext: CausalContext): CausalContext {
  return { vv: clientContext.vv, dots: [...clientContext.dots, written.dot] };
}

/** The context of a read: everything the (merged) object has seen. */
export function contextOfRead(obj: VersionedObject): CausalContext {
  return { vv: obj.vv, dots: [] };
}

function contextWithTime(context: VersionVector, nowMs: number): VersionVector {
  return context.map((e) => ({ node: e.node, counter: e.counter, updatedMs: e.updatedMs || nowMs }));
}

/**
 * Merges two replicas' objects for the same key (replication, read repair, anti-entropy). A sibling
 * survives unless the other side has seen its dot without keeping it (it was superseded there).
 * Commutative, associative and idempotent.
 */
export function syncObjects(a: VersionedObject, b: VersionedObject): VersionedObject {
  const aDots = new Set(a.siblings.map((s) => dotKey(s.dot)));
  const bDots = new Set(b.siblings.map((s) => dotKey(s.dot)));
  const fromA = a.siblings.filter((s) => bDots.has(dotKey(s.dot)) || !vvCovers(b.vv, s.dot));
  const fromB = b.siblings.filter((s) => !aDots.has(dotKey(s.dot)) && !vvCovers(a.vv, s.dot));
  return { vv: vvMerge(a.vv, b.vv), siblings: normalize([...fromA, ...fromB]) };
}

export function liveSiblings(obj: VersionedObject): Sibling[] {
  return obj.siblings.filter((s) => s.value.kind !== 'tombstone');
}

/** True when both objects hold the same knowledge (same vv counters and same sibling dots). */
export function sameVersion(a: VersionedObject, b: VersionedObject): boolean {
  if (a.vv.length !== b.vv.length || a.siblings.length !== b.siblings.length) return false;
  for (let i = 0; i < a.vv.length; i++) if (a.vv[i].node !== b.vv[i].node || a.vv[i].counter !== b.vv[i].counter) return false;
  for (let i = 0; i < a.siblings.length; i++) if (dotKey(a.siblings[i].dot) !== dotKey(b.siblings[i].dot)) return false;
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
