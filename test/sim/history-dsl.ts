import { History, type OpRecord } from '../../src/sim/history.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

/** what a write with the context of `from` covers: a read's values, or a put's own value and what it covered */
export function covered(from: OpRecord | undefined): string[] {
  if (!from) return [];
  return from.kind === 'put' ? [...from.supersedes, from.value!] : (from.readValues ?? []);
}

/** a small DSL for hand-made histories: ops are invoked and completed in the order the test calls them */
export function recorder() {
  const clock = new VirtualClock(0);
  const h = new History(clock);
  return {
    h,
    tick: (ms = 1) => clock.advanceTo(clock.nowMs() + ms),
    /** a put, blind or with the context of `read`; pw makes it strict */
    put: (key: string, value: string, w = 2, read?: OpRecord, pw?: number) =>
      h.invoke({ client: 'c', node: 'n1', kind: 'put', key, value, w, ...(pw !== undefined ? { pw } : {}), contextFromOp: read?.id, supersedes: covered(read) }),
    del: (key: string, read: OpRecord, w = 2) => h.invoke({ client: 'c', node: 'n1', kind: 'delete', key, w, contextFromOp: read.id, supersedes: covered(read) }),
    get: (key: string, r = 2) => h.invoke({ client: 'c', node: 'n2', kind: 'get', key, r }),
    incr: (key: string, delta: number, w = 2) => h.invoke({ client: 'c', node: 'n1', kind: 'increment', key, delta: String(delta), w }),
    /** completes a read with its values, an increment with its answer, anything else plainly */
    ok: (op: OpRecord, readValues?: string[], counterValue?: string) =>
      h.complete(op, { ...(readValues ? { readValues, readContext: 'ctx' } : {}), ...(counterValue !== undefined ? { counterValue } : {}) }),
  };
}
