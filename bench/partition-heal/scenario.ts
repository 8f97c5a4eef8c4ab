/**
 * One bench run inside the hub namespace: a 3-node cluster of real processes, writers on the majority
 * side, and per round a fault (one node cut off by iptables, or 20 % packet loss) that is healed after
 * a while; then how long until w=3 writes are acknowledged again, and which transport counters moved.
 */
import { join } from 'node:path';
import { ChaosCluster, type ChaosNode } from '../../src/chaos/cluster.js';
import { runDirectory } from '../../src/chaos/names.js';
import { cut, nemesisByName } from '../../src/chaos/nemeses.js';
import { Interrupted, waitOrInterrupt } from '../../src/chaos/sys.js';
import { delta, snapshot, type CounterDelta } from './counters.js';
import { firstAckAfter, steadyFrom, tally, type WriteRecord } from './recovery.js';
import { WriteLoad } from './write-load.js';

export interface HealBenchOptions {
  rounds: number;
  partitionSeconds: number;
  fault: 'isolate' | 'loss';
  writers: number;
  clientTimeoutMs: number;
  requestTimeoutMs: number;
  thinkMs: number;
  windowMs: number;
  /** after a heal (and before each fault), how long to wait for a steady window */
  steadyTimeoutSeconds: number;
  nodeCli?: string;
  logDir?: string;
}

export interface RoundResult {
  round: number;
  fault: string;
  /** how long removing the fault took (the heal instant is when it was done) */
  healTookMs: number;
  /** writes invoked while the fault was in place (from when it was applied to the start of the heal) */
  duringFault: { ok: number; failed: number };
  /** heal → the invocation of the first acknowledged w=3 write invoked after the heal */
  firstAckMs?: number;
  /** heal → that write's acknowledgement */
  firstAckAnsweredMs?: number;
  /** heal → the start of the first steady window */
  steadyMs?: number;
  /** writes invoked after the heal and before the steady window that failed, by outcome */
  failuresAfterHeal: Record<string, number>;
  /** the transport counters' change per node while the fault was on, and from the heal to the steady window */
  counters: { duringFault: CounterDelta; afterHeal: CounterDelta };
  problem?: string;
}

const N = 3;

export async function runHealBench(runId: string, o: HealBenchOptions, signal: AbortSignal, say: (line: string) => void): Promise<RoundResult[]> {
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const cluster = new ChaosCluster({
    runId,
    runDir: runDirectory(runId),
    logDir: o.logDir ?? join(runDirectory(runId), 'logs'),
    nodes: N,
    n: N,
    r: 2,
    w: N,
    requestTimeoutMs: o.requestTimeoutMs,
    commitlogSync: 'batch',
    diskMiB: 256,
    ...(o.nodeCli !== undefined ? { nodeCli: o.nodeCli } : {}),
    onUnexpectedExit: (node, code, sig) => say(`!! ${node} exited by itself (code ${code}, signal ${sig})`),
  });
  let load: WriteLoad | undefined;
  const results: RoundResult[] = [];
  try {
    say(`starting ${N} nodes (n=${N} w=${N} r=2, requestTimeoutMs ${o.requestTimeoutMs}) in their own network namespaces${o.nodeCli ? ` with ${o.nodeCli}` : ''}`);
    await cluster.start();
    const coordinator = cluster.nodes[0];
    load = new WriteLoad({ httpUrl: coordinator.httpUrl, writers: o.writers, w: N, clientTimeoutMs: o.clientTimeoutMs, serverTimeoutMs: o.requestTimeoutMs, thinkMs: o.thinkMs, now });
    load.start();
    const writes = load.writes;
    const steadyAfter = async (fromMs: number): Promise<number | undefined> => {
      const deadline = now() + o.steadyTimeoutSeconds * 1000;
      for (;;) {
        const s = steadyFrom(writes, fromMs, o.windowMs);
        if (s !== undefined || now() > deadline) return s;
        await waitOrInterrupt(20, signal);
      }
    };
    for (let round = 1; round <= o.rounds; round++) {
      if ((await steadyAfter(now())) === undefined) {
        throw new Error(`w=${N} writes through ${coordinator.id} were not all acknowledged for ${o.windowMs} ms within ${o.steadyTimeoutSeconds} s before round ${round}`);
      }
      const target = cluster.nodes[1 + ((round - 1) % (N - 1))];
      const before = await snapshot(cluster.nodes);
      const { description, heal } = await applyFault(cluster, o.fault, target);
      const faultAt = now();
      say(`round ${round}: ${description} for ${o.partitionSeconds} s, writers on ${coordinator.id}`);
      await waitOrInterrupt(o.partitionSeconds * 1000, signal);
      const atHeal = await snapshot(cluster.nodes);
      const healStart = now();
      await heal();
      const healAt = now();
      const steadyAt = await steadyAfter(healAt);
      const first = firstAckAfter(writes, healAt);
      const after = await snapshot(cluster.nodes);
      const r: RoundResult = {
        round,
        fault: description,
        healTookMs: Math.round(healAt - healStart),
        duringFault: tally(writes, faultAt, healStart),
        failuresAfterHeal: outcomes(writes, healAt, steadyAt ?? now()),
        counters: { duringFault: delta(before, atHeal), afterHeal: delta(atHeal, after) },
        ...(first?.doneMs !== undefined ? { firstAckMs: Math.round(first.invokedMs - healAt), firstAckAnsweredMs: Math.round(first.doneMs - healAt) } : {}),
        ...(steadyAt !== undefined ? { steadyMs: Math.round(steadyAt - healAt) } : {}),
        ...(steadyAt === undefined ? { problem: `no ${o.windowMs} ms window of only acknowledged writes within ${o.steadyTimeoutSeconds} s of the heal` } : {}),
      };
      say(`  healed: first w=${N} ack ${fmt(r.firstAckMs)}, steady ${fmt(r.steadyMs)} after the heal; during the fault ${r.duringFault.ok} acknowledged, ${r.duringFault.failed} failed`);
      results.push(r);
    }
  } finally {
    await load?.stop();
    await cluster.stop();
  }
  // a round cut short by Ctrl-C is not a result
  if (signal.aborted) throw new Interrupted('interrupted');
  return results;
}

async function applyFault(cluster: ChaosCluster, fault: HealBenchOptions['fault'], target: ChaosNode): Promise<{ description: string; heal(): Promise<void> }> {
  if (fault === 'loss') return nemesisByName('loss').start(cluster, Math.random);
  // as the isolate-one nemesis, on a chosen node: both directions dropped between it and every other node
  const others = cluster.ids.filter((id) => id !== target.id);
  await cluster.setDrops(cut([target.id], others));
  return { description: `${target.id} isolated from ${others.join(',')}`, heal: () => cluster.setDrops([]) };
}

function outcomes(writes: readonly WriteRecord[], fromMs: number, toMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of writes) {
    if (w.invokedMs >= fromMs && w.invokedMs < toMs && w.ok === false) out[w.outcome ?? '?'] = (out[w.outcome ?? '?'] ?? 0) + 1;
  }
  return out;
}

export function fmt(ms: number | undefined): string {
  return ms === undefined ? 'never' : `${(ms / 1000).toFixed(2)} s`;
}
