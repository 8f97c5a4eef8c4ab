/** The nodes' transport counters that show which mechanism brought a connection back after a fault. */
import { metric, parsePrometheus } from '../cluster-ops/node-api.js';

export const TRANSPORT_COUNTERS = {
  stalled: 'ringkv_transport_stalled_connections_total',
  probes: 'ringkv_transport_stall_probes_total',
  reconnects: 'ringkv_transport_reconnects_total',
} as const;

export type CounterName = keyof typeof TRANSPORT_COUNTERS;
/** per counter: its value on each node (undefined: the node does not export it, e.g. an older build) */
export type CounterSnapshot = Record<CounterName, Record<string, number | undefined>>;

const SCRAPE_TIMEOUT_MS = 3000;

export async function snapshot(nodes: ReadonlyArray<{ id: string; httpUrl: string }>): Promise<CounterSnapshot> {
  const out = { stalled: {}, probes: {}, reconnects: {} } as CounterSnapshot;
  await Promise.all(
    nodes.map(async (n) => {
      const res = await fetch(`${n.httpUrl}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      const samples = parsePrometheus(await res.text());
      for (const [key, name] of Object.entries(TRANSPORT_COUNTERS) as Array<[CounterName, string]>) {
        out[key][n.id] = samples.some((s) => s.name === name) ? metric(samples, name) : undefined;
      }
    }),
  );
  return out;
}

/** per counter: its change on each node; undefined for a counter no node exports */
export type CounterDelta = Record<CounterName, Record<string, number> | undefined>;

/** after − before per counter and node */
export function delta(before: CounterSnapshot, after: CounterSnapshot): CounterDelta {
  const out = {} as CounterDelta;
  for (const key of Object.keys(TRANSPORT_COUNTERS) as CounterName[]) {
    const perNode: Record<string, number> = {};
    for (const [id, a] of Object.entries(after[key])) {
      const b = before[key][id];
      if (a !== undefined && b !== undefined) perNode[id] = a - b;
    }
    out[key] = Object.keys(perNode).length > 0 ? perNode : undefined;
  }
  return out;
}

/** the change summed over the nodes; "–" for a counter not exported */
export function sumOf(perNode: Record<string, number> | undefined): string {
  return perNode ? String(Object.values(perNode).reduce((s, v) => s + v, 0)) : '–';
}
