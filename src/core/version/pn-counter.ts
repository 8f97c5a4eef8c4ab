import { RingkvError } from '../errors.js';
import type { NodeId } from '../member.js';

/**
 * A PN-counter: per-node totals of increments and decrements, merged by per-node maximum, so
 * concurrent updates on different nodes are never lost. Totals are decimal strings so they survive
 * any codec as exact 64-bit-and-beyond integers.
 */
export interface PnEntry {
  node: NodeId;
  inc: string;
  dec: string;
}

export type PnCounter = PnEntry[];

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

export function pnValue(c: PnCounter): bigint {
  let sum = 0n;
  for (const e of c) sum += BigInt(e.inc) - BigInt(e.dec);
  return sum;
}

export function pnMerge(a: PnCounter, b: PnCounter): PnCounter {
  const byNode = new Map<NodeId, { inc: bigint; dec: bigint }>();
  for (const e of [...a, ...b]) {
    const cur = byNode.get(e.node);
    const inc = BigInt(e.inc);
    const dec = BigInt(e.dec);
    if (!cur) byNode.set(e.node, { inc, dec });
    else byNode.set(e.node, { inc: inc > cur.inc ? inc : cur.inc, dec: dec > cur.dec ? dec : cur.dec });
  }
  return [...byNode.entries()]
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([node, v]) => ({ node, inc: v.inc.toString(), dec: v.dec.toString() }));
}

/**
 * The value of c above a floor of removed totals (observed-remove: a delete records the totals it saw
 * as the floor). Per actor, only what exceeds the floor counts; an actor below its floor (a stale copy)
 * contributes nothing, since the floor's increments were removed.
 */
export function pnValueAbove(c: PnCounter, floor: PnCounter): bigint {
  if (floor.length === 0) return pnValue(c);
  const below = new Map(floor.map((e) => [e.node, e]));
  let sum = 0n;
  for (const e of c) {
    const f = below.get(e.node);
    const inc = BigInt(e.inc) - (f ? BigInt(f.inc) : 0n);
    const dec = BigInt(e.dec) - (f ? BigInt(f.dec) : 0n);
    sum += (inc > 0n ? inc : 0n) - (dec > 0n ? dec : 0n);
  }
  return sum;
}

/**
 * Adds delta at `node`; refuses a result (the value above `floor`) outside the signed 64-bit range, as
 * Redis does.
 */
export function pnAdd(c: PnCounter, node: NodeId, delta: bigint, floor: PnCounter = []): PnCounter {
  const next = pnValueAbove(c, floor) + delta;
  if (next > INT64_MAX || next < INT64_MIN) throw new RingkvError('NOT_AN_INTEGER', 'increment or decrement would overflow');
  const own = c.find((e) => e.node === node) ?? { node, inc: '0', dec: '0' };
  const updated: PnEntry =
    delta >= 0n ? { node, inc: (BigInt(own.inc) + delta).toString(), dec: own.dec } : { node, inc: own.inc, dec: (BigInt(own.dec) - delta).toString() };
  return pnMerge(c.filter((e) => e.node !== node), [updated]);
}
