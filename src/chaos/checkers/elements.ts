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

function readElements(r: OpRecord | ConvergenceRecord): string[] {
  const v = r.type === 'op' ? r.result : r.value;
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

export function checkElements(ix: HistoryIndex, workload: WorkloadName): ElementsResult {
  const ops = ix.opsOf(workload);
  const adds = ops.filter((o) => o.f === 'add');
  const addsByKey = groupBy(adds, (o) => o.key);
  const readsByKey = groupBy(ops.filter((o) => o.f === 'read' && o.outcome === 'ok'), (o) => o.key);
  const convergeByKey = groupBy(ix.convergeOf(workload).filter((c) => c.read), (c) => c.key);
  const res: ElementsResult = { workload, acknowledged: 0, lost: [], unverified: 0, phantoms: [], failedButVisible: [], duplicateReads: 0, staleness: new Map() };

  for (const [key, keyAdds] of addsByKey) {
    const byElement = new Map(keyAdds.map((a) => [String(a.value), a]));
    const reads = readsByKey.get(key) ?? [];
    const checks = (convergeByKey.get(key) ?? []).map((c) => ({ rec: c, startMs: ix.checkStartMs(c.check), present: new Set(readElements(c)) }));

    // what reads returned: never an element nobody had tried to add yet, never one whose add failed
    const seen = new Set<string>();
    for (const r of [...reads, ...checks.map((c) => c.rec)]) {
      const elements = readElements(r);
      const atMs = r.type === 'op' ? r.completeMs : r.atMs;
      if (new Set(elements).size !== elements.length) res.duplicateReads++;
      for (const e of elements) {
        seen.add(e);
        const add = byElement.get(e);
        if (!add || add.invokeMs > atMs) res.phantoms.push({ key, element: e, atMs });
      }
    }
    for (const a of keyAdds) if (a.outcome === 'fail' && seen.has(String(a.value))) res.failedButVisible.push({ key, element: String(a.value), op: a.id });

    for (const a of keyAdds) {
      if (a.outcome !== 'ok') continue;
      res.acknowledged++;
      const element = String(a.value);
      const later = checks.filter((c) => c.startMs > a.completeMs);
      if (later.length === 0) {
        res.unverified++;
        continue;
      }
      const missing = later.find((c) => !c.present.has(element));
      if (missing) {
        res.lost.push({ key, element, node: a.node, invokeMs: a.invokeMs, ackMs: a.completeMs, missingAtCheck: missing.rec.check });
        continue;
      }
      let lastStaleMs: number | undefined;
      let observed = false;
      for (const r of reads) {
        if (r.invokeMs <= a.completeMs) continue;
        observed = true;
        if (!readElements(r).includes(element)) lastStaleMs = r.invokeMs - a.completeMs;
      }
      res.staleness.set(a, observed ? (lastStaleMs ?? 0) : undefined);
    }
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
