/**
 * Counter bounds: at each convergence check (the clients stopped, every earlier INCRBY completed), a
 * counter's r=n value must lie in [sum of acknowledged deltas, that + sum of unknown deltas]. Below
 * the range, acknowledged increments were lost; above it, an increment was counted twice or a failed
 * one was applied.
 */
import type { Violation } from './history-index.js';
import { groupBy, type HistoryIndex } from './history-index.js';

export interface CounterCheck {
  key: string;
  check: number;
  acknowledged: number;
  unknown: number;
  /** undefined when the read failed or did not return one integer */
  value: number | undefined;
  lost: number;
  extra: number;
}

export interface CounterResult {
  checks: CounterCheck[];
  /** at the last check, summed over keys: acknowledged increments missing */
  lost: number;
  acknowledged: number;
  violations: Violation[];
  /** INCRBY replies lower than the increments acknowledged before that INCRBY was invoked (see README) */
  staleReplies: number;
}

export function checkCounters(ix: HistoryIndex): CounterResult {
  const incrs = ix.opsOf('counter').filter((o) => o.f === 'incr');
  const byKey = groupBy(incrs, (o) => o.key);
  const res: CounterResult = { checks: [], lost: 0, acknowledged: 0, violations: [], staleReplies: 0 };
  const last = ix.lastCheck();
  for (const c of ix.convergeOf('counter')) {
    const startMs = ix.checkStartMs(c.check);
    const before = (byKey.get(c.key) ?? []).filter((o) => o.invokeMs < startMs);
    const sum = (outcome: string): number => before.filter((o) => o.outcome === outcome).reduce((s, o) => s + Number(o.value), 0);
    const acknowledged = sum('ok');
    const unknown = sum('unknown');
    const text = typeof c.value === 'string' ? c.value : c.value === null ? '0' : undefined;
    const value = c.read && text !== undefined && /^-?\d+$/.test(text) ? Number(text) : undefined;
    const cc: CounterCheck = { key: c.key, check: c.check, acknowledged, unknown, value, lost: 0, extra: 0 };
    if (value === undefined) {
      res.violations.push({ checker: 'counter-bounds', message: `${c.key} at check ${c.check}: no integer read (${c.read ? JSON.stringify(c.value) : c.detail})` });
    } else {
      cc.lost = Math.max(0, acknowledged - value);
      cc.extra = Math.max(0, value - (acknowledged + unknown));
      if (cc.lost > 0 || cc.extra > 0) {
        res.violations.push({
          checker: 'counter-bounds',
          message: `${c.key} at check ${c.check}: value ${value} outside [${acknowledged}, ${acknowledged + unknown}] (acknowledged ${acknowledged}, unknown ${unknown})`,
        });
      }
    }
    res.checks.push(cc);
    if (c.check === last) {
      res.lost += cc.lost;
      res.acknowledged += acknowledged;
    }
  }
  // informational: an INCRBY's answer below what had been acknowledged before it was invoked
  for (const ops of byKey.values()) {
    const acked = ops.filter((o) => o.outcome === 'ok').sort((a, b) => a.completeMs - b.completeMs);
    const prefix = [0];
    for (const a of acked) prefix.push(prefix[prefix.length - 1] + Number(a.value));
    for (const o of ops) {
      if (o.outcome !== 'ok' || typeof o.result !== 'string') continue;
      // how many acknowledgements came before o was invoked (binary search on completeMs)
      let lo = 0;
      let hi = acked.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (acked[mid].completeMs < o.invokeMs) lo = mid + 1;
        else hi = mid;
      }
      if (Number(o.result) < prefix[lo] + Number(o.value)) res.staleReplies++;
    }
  }
  return res;
}
