/**
 * The PBS staleness predictor against measured staleness on the same cluster and load. A 3-node
 * cluster (n=3) takes writes of fresh keys through random nodes; each acknowledged write gets exactly
 * one read (through a random node, r as the write's quorum) Δ ms after the client saw the
 * acknowledgement — one read per write, because a read repairs the replicas it found stale and would
 * make later reads of that key fresher than PBS's model. The fraction of fresh reads at each Δ is
 * compared with the nodes' own prediction (GET /cluster/status → pbs) for the same R and W, read
 * right after that phase (so from samples of the same load), at each read's actual Δ, for R=W=1
 * and R=W=2.
 *
 * Δ here starts when the client has the acknowledgement; the model's Δ starts at the coordinator's
 * commit, a response leg earlier (a loopback HTTP answer, well under a millisecond unloaded), and
 * Node's timers add up to ~1 ms to the waits: the bench reports the Δ each read actually had.
 *
 *   npm run bench:pbs -- [--writes 2000] [--concurrency 8] [--engine lsm|memory]
 *   npm run bench:pbs -- --url http://host:8001 [--password p]    only print a running cluster's predictions
 *
 * The second form is how the prediction is compared with the fault harness's measured staleness
 * (issue 11): run its workload at R=W=1 without faults, and read the predictions of the same cluster
 * while it runs. Prints a table per quorum and one JSON object as the last line.
 */
import { parseArgs } from 'node:util';
import { RingkvClient } from '../src/client/ringkv-client.js';
import type { PbsPrediction } from '../src/ops/pbs-sampler.js';
import type { NodeStatus } from '../src/ops/node-status.js';
import { once, startBenchCluster } from './kit.js';

const { values: args } = parseArgs({
  options: {
    writes: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    engine: { type: 'string', default: 'lsm' },
    url: { type: 'string' },
    password: { type: 'string' },
  },
});
const WRITES = Number(args.writes);
const CONCURRENCY = Number(args.concurrency);
/** Δ values tried (ms after the acknowledgement), each for an equal share of the writes */
const DELTAS_MS = [0, 1, 2, 5, 10, 20, 50];
const QUORUMS = [1, 2];

interface Cell {
  targetMs: number;
  trials: number;
  fresh: number;
  /** the Δ each read really had (timers and a busy event loop add to the target) */
  actualMs: number[];
}

/** the nodes' predictions for (q, q), averaged: P(fresh) at any Δ (linear between the curve's points), and Δ quantiles */
function predicted(statuses: NodeStatus[], q: number): { freshAt: (d: number) => number | null; delta50Ms: number | null; delta999Ms: number | null; nodes: number } {
  const ps: PbsPrediction[] = statuses.map((s) => s.pbs.predictions.find((p) => p.r === q && p.w === q)).filter((p): p is PbsPrediction => p !== undefined);
  const mean = (xs: number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
  const at = (curve: PbsPrediction['curve'], d: number): number => {
    const i = curve.findIndex((c) => c.deltaMs >= d);
    if (i < 0) return curve[curve.length - 1].probability;
    if (i === 0 || curve[i].deltaMs === d) return curve[i].probability;
    const [a, b] = [curve[i - 1], curve[i]];
    return a.probability + ((b.probability - a.probability) * (d - a.deltaMs)) / (b.deltaMs - a.deltaMs);
  };
  return {
    nodes: ps.length,
    freshAt: (d) => mean(ps.map((p) => at(p.curve, d))),
    delta50Ms: mean(ps.map((p) => p.delta50Ms)),
    delta999Ms: mean(ps.map((p) => p.delta999Ms)),
  };
}

function printPredictions(statuses: NodeStatus[]): void {
  for (const s of statuses) {
    process.stdout.write(`${s.node}: ${s.pbs.note}\n`);
    for (const p of s.pbs.predictions) process.stdout.write(`  R=${p.r} W=${p.w}: fresh at once ${(p.freshAtCommit * 100).toFixed(2)} %, Δ50 ${p.delta50Ms} ms, Δ99 ${p.delta99Ms} ms, Δ99.9 ${p.delta999Ms} ms\n`);
  }
}

async function predictOnly(url: string): Promise<void> {
  const client = new RingkvClient({ url, ...(args.password !== undefined ? { password: args.password } : {}) });
  const overview = await client.overview();
  const statuses = overview.members.map((m) => m.node).filter((s): s is NodeStatus => s !== null);
  printPredictions(statuses);
  process.stdout.write(`${JSON.stringify({ bench: 'pbs-predictions', url, nodes: statuses.map((s) => ({ node: s.node, pbs: s.pbs })) })}\n`);
}

async function measure(): Promise<void> {
  process.stdout.write(`starting 3 node processes (n=3, engine ${args.engine}); ${WRITES} writes per quorum, ${CONCURRENCY} at a time\n`);
  const bench = await startBenchCluster(3, { engine: args.engine as string, n: 3, r: 2, w: 2 }, CONCURRENCY + 1);
  const { targets } = bench;
  const pick = (): (typeof targets)[number] => targets[Math.floor(Math.random() * targets.length)];
  const out: Array<{ q: number; cells: Cell[]; statuses: NodeStatus[] }> = [];
  const statusOf = (t: (typeof targets)[number]): Promise<NodeStatus> => new RingkvClient({ url: `http://${t.host}:${t.port}` }).status();
  try {
    for (const q of QUORUMS) {
      const cells: Cell[] = DELTAS_MS.map((targetMs) => ({ targetMs, trials: 0, fresh: 0, actualMs: [] }));
      let next = 0;
      const worker = async (w: number): Promise<void> => {
        for (let i = next++; i < WRITES; i = next++) {
          const cell = cells[i % cells.length];
          const key = `/kv/pbs-${q}-${w}-${i}`;
          const value = Buffer.from(`v${i}`);
          if ((await once(pick(), 'PUT', `${key}?w=${q}`, value)) !== 204) continue;
          const ackedAt = performance.now();
          if (cell.targetMs > 0) await new Promise((r) => setTimeout(r, cell.targetMs));
          const readAt = performance.now();
          const res = await once(pick(), 'GET', `${key}?r=${q}`, undefined, true);
          cell.trials++;
          cell.actualMs.push(readAt - ackedAt);
          if (res.status === 200 && res.body.equals(value)) cell.fresh++;
        }
        if (w === 0) process.stdout.write(`  R=W=${q}: ${Math.min(next, WRITES)}/${WRITES} writes\n`);
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
      // the prediction from the samples of this phase's load (the most recent 4096 per leg)
      out.push({ q, cells, statuses: await Promise.all(targets.map(statusOf)) });
    }
    const statuses = out[out.length - 1].statuses;
    const results = out.map(({ q, cells, statuses: phaseStatuses }) => {
      const p = predicted(phaseStatuses, q);
      const rows = cells.map((c) => {
        // the prediction at each read's own Δ, averaged like the measurement
        const predictedEach = c.actualMs.map((d) => p.freshAt(d)).filter((x): x is number => x !== null);
        return {
          targetMs: c.targetMs,
          actualMeanMs: Math.round((c.actualMs.reduce((a, b) => a + b, 0) / Math.max(1, c.trials)) * 100) / 100,
          trials: c.trials,
          measuredFresh: c.trials === 0 ? null : c.fresh / c.trials,
          predictedFresh: predictedEach.length === 0 ? null : predictedEach.reduce((a, b) => a + b, 0) / predictedEach.length,
        };
      });
      const pairs = rows.filter((r) => r.measuredFresh !== null && r.predictedFresh !== null);
      const rmse = Math.sqrt(pairs.reduce((sum, r) => sum + (r.measuredFresh! - r.predictedFresh!) ** 2, 0) / Math.max(1, pairs.length));
      return { r: q, w: q, predictedDelta50Ms: p.delta50Ms, predictedDelta999Ms: p.delta999Ms, predictingNodes: p.nodes, rmse: Math.round(rmse * 10000) / 10000, rows };
    });
    for (const r of results) {
      process.stdout.write(`\nR=W=${r.r} (n=3): predicted Δ50 ${r.predictedDelta50Ms?.toFixed(2)} ms, Δ99.9 ${r.predictedDelta999Ms?.toFixed(2)} ms (mean of ${r.predictingNodes} nodes); RMSE measured vs predicted ${(r.rmse * 100).toFixed(2)} points\n`);
      process.stdout.write('  Δ target  Δ actual  reads  measured fresh  predicted fresh\n');
      for (const row of r.rows) {
        const pct = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(2)} %`);
        process.stdout.write(`  ${String(row.targetMs).padStart(8)}  ${row.actualMeanMs.toFixed(2).padStart(8)}  ${String(row.trials).padStart(5)}  ${pct(row.measuredFresh).padStart(14)}  ${pct(row.predictedFresh).padStart(15)}\n`);
      }
    }
    printPredictions(statuses);
    process.stdout.write(`${JSON.stringify({ bench: 'pbs', engine: args.engine, writes: WRITES, concurrency: CONCURRENCY, results })}\n`);
  } finally {
    await bench.stop();
  }
}

await (args.url !== undefined ? predictOnly(args.url) : measure());
