/**
 * The element checkers shared by set-full (over HTTP with siblings) and the register (RESP,
 * last-writer-wins). An add puts one element under a key; reads and the convergence reads return the
 * elements (or, for set-full's unique keys, the sibling values) a key holds.
 *
 * - lost: an acknowledged add whose element is missing from a convergence read that began after the
 *   add was acknowledged;
 * - phantom: a read returned an element no add of that key had been invoked for by then;
 * - failed-write-visible: an add that failed (certainly not applied: refused, or a 4xx) shows up;
 * - duplicates: one read listing the same value twice as siblings (a write applied twice);
 * - staleness (t-visibility): for each acknowledged, surviving element, the time from its
 *   acknowledgement to the start of the last read that still missed it (0 when none did).
 */
import type { ConvergenceRecord, OpRecord, WorkloadName } from '../history.js';
import { forEachElement } from '../workloads/elements.js';
import { groupBy, percentile, type HistoryIndex } from './history-index.js';

export interface LostElement {
  key: string;
  element: string;
  node: string;
  invokeMs: number;
  ackMs: number;
  /** the first convergence check that did not have it */
  missingAtCheck: number;
}

export interface StalenessFigures {
  /** acknowledged, surviving elements that some later read could see or miss */
  observed: number;
  /** of those, how many some later read missed */
  stale: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
}

export interface ElementsResult {
  workload: WorkloadName;
  acknowledged: number;
  lost: LostElement[];
  /** acknowledged adds no successful convergence read covered (the run ended first) */
  unverified: number;
  phantoms: Array<{ key: string; element: string; atMs: number }>;
  failedButVisible: Array<{ key: string; element: string; op: number }>;
  duplicateReads: number;
  /** per acknowledged element: ms until every later read saw it (undefined: no later read) */
  staleness: Map<OpRecord, number | undefined>;
}

/** the elements a read or a convergence record returned, as history tokens (see compactElements) */
function tokensOf(r: OpRecord | ConvergenceRecord): string[] {
  const v = r.type === 'op' ? r.result : r.value;
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** one read of a key, as a bitset over that key's adds */
interface ReadBits {
  atMs: number;
  invokeMs: number;
  bits: Uint8Array;
}

const has = (r: ReadBits, i: number): boolean => (r.bits[i >> 3] & (1 << (i & 7))) !== 0;

export function checkElements(ix: HistoryIndex, workload: WorkloadName): ElementsResult {
  const ops = ix.opsOf(workload);
  const addsByKey = groupBy(ops.filter((o) => o.f === 'add'), (o) => o.key);
  const readsByKey = groupBy(ops.filter((o) => o.f === 'read' && o.outcome === 'ok'), (o) => o.key);
  const convergeByKey = groupBy(ix.convergeOf(workload).filter((c) => c.read), (c) => c.key);
  const res: ElementsResult = { workload, acknowledged: 0, lost: [], unverified: 0, phantoms: [], failedButVisible: [], duplicateReads: 0, staleness: new Map() };

  for (const [key, keyAdds] of addsByKey) {
    const index = new Map(keyAdds.map((a, i) => [String(a.value), i]));
    const seenEver = new Uint8Array(keyAdds.length);
    /** decodes a read into a bitset, noting phantoms and duplicates on the way */
    const toBits = (r: OpRecord | ConvergenceRecord): ReadBits => {
      const atMs = r.type === 'op' ? r.completeMs : r.atMs;
      const bits = new Uint8Array((keyAdds.length >> 3) + 1);
      let duplicate = false;
      forEachElement(tokensOf(r), (e) => {
        const i = index.get(e);
        if (i === undefined || keyAdds[i].invokeMs > atMs) {
          res.phantoms.push({ key, element: e, atMs });
          return;
        }
        if (bits[i >> 3] & (1 << (i & 7))) duplicate = true;
        bits[i >> 3] |= 1 << (i & 7);
        seenEver[i] = 1;
      });
      if (duplicate) res.duplicateReads++;
      return { atMs, invokeMs: r.type === 'op' ? r.invokeMs : r.atMs, bits };
    };
    const reads = (readsByKey.get(key) ?? []).map(toBits).sort((a, b) => a.invokeMs - b.invokeMs);
    const checks = (convergeByKey.get(key) ?? []).map((c) => ({ check: c.check, startMs: ix.checkStartMs(c.check), read: toBits(c) }));

    keyAdds.forEach((a, i) => {
      if (a.outcome === 'fail' && seenEver[i]) res.failedButVisible.push({ key, element: String(a.value), op: a.id });
      if (a.outcome !== 'ok') return;
      res.acknowledged++;
      const later = checks.filter((c) => c.startMs > a.completeMs);
      if (later.length === 0) {
        res.unverified++;
        return;
      }
      const missing = later.find((c) => !has(c.read, i));
      if (missing) {
        res.lost.push({ key, element: String(a.value), node: a.node, invokeMs: a.invokeMs, ackMs: a.completeMs, missingAtCheck: missing.check });
        return;
      }
      // the latest read invoked after the acknowledgement that still missed the element
      let observed = false;
      let staleMs = 0;
      for (let j = reads.length - 1; j >= 0 && reads[j].invokeMs > a.completeMs; j--) {
        observed = true;
        if (!has(reads[j], i)) {
          staleMs = reads[j].invokeMs - a.completeMs;
          break;
        }
      }
      res.staleness.set(a, observed ? staleMs : undefined);
    });
  }
  return res;
}

/** staleness percentiles over the acknowledged adds `filter` accepts */
export function stalenessFigures(result: ElementsResult, filter: (a: OpRecord) => boolean = () => true): StalenessFigures {
  const samples: number[] = [];
  for (const [a, ms] of result.staleness) if (ms !== undefined && filter(a)) samples.push(ms);
  samples.sort((x, y) => x - y);
  const out: StalenessFigures = { observed: samples.length, stale: samples.filter((s) => s > 0).length };
  const p50 = percentile(samples, 50);
  const p99 = percentile(samples, 99);
  if (p50 !== undefined) out.p50Ms = Math.round(p50);
  if (p99 !== undefined) out.p99Ms = Math.round(p99);
  if (samples.length) out.maxMs = Math.round(samples[samples.length - 1]);
  return out;
}
