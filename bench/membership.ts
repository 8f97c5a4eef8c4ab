/**
 * Membership benchmark, all in the deterministic simulator (virtual time; the figures do not depend
 * on the machine's load, only the run time does):
 *
 *   npm run bench:membership -- [--sizes 16,64,256,1000] [--seeds 3] [--minutes 10] [--only claim,rounds,detection,long]
 *
 * - claim: partitions moved by a join or a leave against the ideal share, over random clusters of
 *   3–16 nodes (weights, zones, Q = 64…1024), for the claim from the current ring and, for
 *   comparison, for the first-ring claim of the new member set; and the worst balance;
 * - rounds: gossip rounds until a change reaches every node (push-pull only, rumors off), for a
 *   status change (leave) and a new node, at each size; and the same leave with rumors on;
 * - detection: virtual ms from a crash until each live node marks it down — killed processes
 *   (connections refused) and silent ones (every probe times out) — at 16 and 64 nodes;
 * - long: a run of --minutes with 1 % loss, latency jitter and a 2-s pause of one node every 3–7 s:
 *   false down marks (target 0) and suspicions; and the same without pauses (false-suspicion rate).
 * Prints tables (progress on stderr), then one JSON line.
 */
import { buildRing, partitionsMoved, reclaimRing, type RingMember } from '../src/core/ring.js';
import { convergedCluster, longRun, measureDetection, percentile, spreadTime } from '../src/sim/gossip-experiments.js';
import { SeededRandom } from '../src/sim/seeded-random.js';

interface Args {
  sizes: number[];
  seeds: number;
  minutes: number;
  only: Set<string>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sizes: [16, 64, 256, 1000], seeds: 3, minutes: 10, only: new Set(['claim', 'rounds', 'detection', 'long']) };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[++i];
    if (value === undefined) throw new Error(`${argv[i - 1]} needs a value`);
    if (argv[i - 1] === '--sizes') args.sizes = value.split(',').map(Number);
    else if (argv[i - 1] === '--seeds') args.seeds = Number(value);
    else if (argv[i - 1] === '--minutes') args.minutes = Number(value);
    else if (argv[i - 1] === '--only') args.only = new Set(value.split(','));
    else throw new Error(`unknown argument ${argv[i - 1]}`);
  }
  if (args.sizes.some((n) => !Number.isInteger(n) || n < 2) || !(args.seeds >= 1) || !(args.minutes > 0)) throw new Error('bad arguments');
  return args;
}

const progress = (line: string): void => void process.stderr.write(`${line}\n`);
const stats = (a: number[]) => ({
  n: a.length,
  mean: +(a.reduce((s, x) => s + x, 0) / a.length).toFixed(3),
  p50: +percentile(a, 0.5).toFixed(3),
  p90: +percentile(a, 0.9).toFixed(3),
  max: +Math.max(...a).toFixed(3),
});

function claimBench() {
  const random = new SeededRandom(2024);
  /** moved / ideal per change kind: from the current ring, with the first-ring claim, and (from the current ring) where the share is >= 10 partitions */
  const ratios = {
    join: { current: [] as number[], fresh: [] as number[], largeShare: [] as number[] },
    leave: { current: [] as number[], fresh: [] as number[], largeShare: [] as number[] },
  };
  let worstBalance = 0;
  const weights = [1, 1, 2, 0.5, 1.5];
  let made = 0;
  const member = (zones: number, weighted: boolean): RingMember => {
    const id = `node-${(made++).toString(36)}-${random.int(1e6)}`;
    const weight = weighted ? weights[random.int(weights.length)] : 1;
    return zones === 0 ? { id, weight } : { id, weight, zone: `z${random.int(zones)}` };
  };
  for (let trial = 0; trial < 400; trial++) {
    const q = [64, 128, 256, 512, 1024][random.int(5)];
    const zones = random.int(4);
    const weighted = random.chance(0.5);
    let members = Array.from({ length: 3 + random.int(14) }, () => member(zones, weighted));
    let ring = buildRing(members, q);
    for (let step = 0; step < 6; step++) {
      const total = members.reduce((s, m) => s + m.weight, 0);
      let kind: 'join' | 'leave';
      let after: RingMember[];
      let ideal: number;
      if (random.chance(0.5) && members.length < 16) {
        const joiner = member(zones, weighted);
        [kind, after, ideal] = ['join', [...members, joiner], (q * joiner.weight) / (total + joiner.weight)];
      } else if (members.length > 3) {
        const leaver = members[random.int(members.length)];
        [kind, after, ideal] = ['leave', members.filter((m) => m !== leaver), (q * leaver.weight) / total];
      } else continue;
      const next = reclaimRing(ring, after);
      const ratio = partitionsMoved(ring, next) / ideal;
      ratios[kind].current.push(ratio);
      if (ideal >= 10) ratios[kind].largeShare.push(ratio);
      ratios[kind].fresh.push(partitionsMoved(buildRing(members, q), buildRing(after, q)) / ideal);
      ring = next;
      members = after;
      const sum = members.reduce((s, m) => s + m.weight, 0);
      const counts = ring.ownedCounts();
      for (const m of members) {
        const share = (q * m.weight) / sum;
        worstBalance = Math.max(worstBalance, Math.abs((counts.get(m.id) ?? 0) - share) / Math.max(0.1 * share, 1));
      }
    }
  }
  return {
    joinFromCurrent: stats(ratios.join.current),
    joinFirstRingClaim: stats(ratios.join.fresh),
    leaveFromCurrent: stats(ratios.leave.current),
    leaveFirstRingClaim: stats(ratios.leave.fresh),
    joinFromCurrentShareAtLeast10: stats(ratios.join.largeShare),
    leaveFromCurrentShareAtLeast10: stats(ratios.leave.largeShare),
    /** the largest |count - share| seen, in units of the allowed deviation (max(10 % of share, 1)); <= 1 is within balance */
    worstBalance: +worstBalance.toFixed(3),
  };
}

async function roundsBench(args: Args) {
  const out: Array<Record<string, number>> = [];
  for (const n of args.sizes) {
    const started = Date.now();
    const { cluster, ids } = await convergedCluster(n, { seed: 100 + n, config: { rumorFanout: 0 } }, 600_000);
    const bootMs = cluster.sim.elapsedMs;
    const leaver = ids[n >> 1];
    const leave = await spreadTime(cluster, () => cluster.node(leaver).leave(), (o) => cluster.node(o).statusOf(leaver) === 'leaving', 500);
    const join = await spreadTime(cluster, () => void cluster.start('zz-joiner', { seeds: [ids[0]] }), (o) => cluster.node(o).row('zz-joiner') !== undefined, 500);
    // the same leave with rumors: a new cluster (rumors are a node setting)
    const withRumors = await convergedCluster(n, { seed: 200 + n }, 600_000);
    const rumorLeave = await spreadTime(withRumors.cluster, () => withRumors.cluster.node(withRumors.ids[1]).leave(), (o) => withRumors.cluster.node(o).statusOf(withRumors.ids[1]) === 'leaving', 500);
    const row = { nodes: n, log2: +Math.log2(n).toFixed(1), bootVirtualMs: bootMs, leaveRounds: leave.rounds, joinRounds: join.rounds, leaveWithRumorsMs: rumorLeave.ms, runSeconds: Math.round((Date.now() - started) / 1000) };
    progress(`rounds: ${JSON.stringify(row)}`);
    out.push(row);
  }
  return out;
}

async function detectionBench(args: Args) {
  const out: Record<string, unknown> = {};
  for (const n of [16, 64]) {
    for (const [label, refuseProbability] of [
      ['killed', 1],
      ['silent', 0],
    ] as const) {
      const times: number[] = [];
      for (let s = 0; s < args.seeds; s++) {
        const { cluster, ids } = await convergedCluster(n, { seed: 300 + s * 7 + n, faults: { refuseProbability } });
        const victims = [ids[1], ids[Math.floor(n / 3)], ids[Math.floor((2 * n) / 3)], ids[n - 1]];
        for (const sample of await measureDetection(cluster, victims)) times.push(...sample.perObserver);
      }
      out[`${label}@${n}`] = { observations: times.length, medianMs: percentile(times, 0.5), p90Ms: percentile(times, 0.9), worstMs: Math.max(...times), bestMs: Math.min(...times) };
      progress(`detection ${label}@${n}: ${JSON.stringify(out[`${label}@${n}`])}`);
    }
  }
  return out;
}

async function longBench(args: Args) {
  const lossy = { dropProbability: 0.01, latencyBaseMs: 1, latencyTailMeanMs: 10, latencyMaxMs: 200 };
  const nodes = 32;
  const paused = await convergedCluster(nodes, { seed: 400, faults: lossy });
  const withPauses = await longRun(paused.cluster, paused.ids, args.minutes);
  progress(`long run with pauses: ${JSON.stringify(withPauses)}`);
  const quiet = await convergedCluster(nodes, { seed: 401, faults: lossy });
  const before = quiet.ids.reduce((s, id) => s + quiet.cluster.node(id).counters.suspicions, 0);
  await quiet.cluster.sim.runFor(args.minutes * 60_000);
  const suspicions = quiet.ids.reduce((s, id) => s + quiet.cluster.node(id).counters.suspicions, 0) - before;
  const downs = quiet.ids.reduce((s, id) => s + quiet.cluster.node(id).counters.downs, 0);
  const noPauses = { minutes: args.minutes, nodes, suspicions, falseDowns: downs, suspicionsPerNodeHour: +(suspicions / nodes / (args.minutes / 60)).toFixed(3) };
  progress(`long run without pauses: ${JSON.stringify(noPauses)}`);
  return { withPauses, noPauses };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const result: Record<string, unknown> = { bench: 'membership', defaults: { gossipIntervalMs: 500, phiThreshold: 8, watchersPerNode: 3, probeTimeoutMs: 2000 } };
  if (args.only.has('claim')) {
    const claim = claimBench();
    result.claim = claim;
    console.log('\nclaim: partitions moved / ideal share (400 random clusters, 3-16 nodes, Q 64-1024, up to 6 changes each)');
    console.log('change   claim               n     mean   p90    max');
    const rows: Array<[string, string, ReturnType<typeof stats>]> = [
      ['join', 'from current ring', claim.joinFromCurrent],
      ['join', 'first-ring claim', claim.joinFirstRingClaim],
      ['leave', 'from current ring', claim.leaveFromCurrent],
      ['leave', 'first-ring claim', claim.leaveFirstRingClaim],
      ['join', 'current, share>=10', claim.joinFromCurrentShareAtLeast10],
      ['leave', 'current, share>=10', claim.leaveFromCurrentShareAtLeast10],
    ];
    for (const [change, kind, s] of rows) {
      console.log(`${change.padEnd(8)} ${kind.padEnd(18)} ${String(s.n).padStart(5)}  ${s.mean.toFixed(3)}  ${s.p90.toFixed(3)}  ${s.max.toFixed(3)}`);
    }
    console.log(`worst balance: ${claim.worstBalance} of the allowed deviation (<= 1 is within +-10 % or +-1 partition)`);
  }
  if (args.only.has('rounds')) {
    const rounds = await roundsBench(args);
    result.rounds = rounds;
    console.log('\nrounds until a change reaches every node (500-ms rounds, push-pull only)');
    console.log('nodes  log2  leave  join  leave with rumors (ms)');
    for (const r of rounds) console.log(`${String(r.nodes).padStart(5)}  ${String(r.log2).padStart(4)}  ${String(r.leaveRounds).padStart(5)}  ${String(r.joinRounds).padStart(4)}  ${String(r.leaveWithRumorsMs).padStart(6)}`);
  }
  if (args.only.has('detection')) {
    const detection = await detectionBench(args);
    result.detection = detection;
    console.log(`\ndetection: ms from a crash to each live node marking it down (${args.seeds} seeds x 4 crashes)`);
    console.log('case          obs  median   p90  worst');
    for (const [k, v] of Object.entries(detection) as Array<[string, { observations: number; medianMs: number; p90Ms: number; worstMs: number }]>) {
      console.log(`${k.padEnd(12)} ${String(v.observations).padStart(4)}  ${String(v.medianMs).padStart(6)} ${String(v.p90Ms).padStart(5)} ${String(v.worstMs).padStart(6)}`);
    }
  }
  if (args.only.has('long')) {
    const long = await longBench(args);
    result.long = long;
    console.log(`\nlong run: ${long.withPauses.nodes} nodes, ${args.minutes} virtual minutes, 1 % loss, 1-200 ms latency`);
    console.log(`with ${long.withPauses.pauses} pauses of 2 s: false downs ${long.withPauses.falseDowns}, suspicions ${long.withPauses.suspicions} (of nodes not paused: ${long.withPauses.suspicionsOfUnpaused})`);
    console.log(`without pauses: false downs ${long.noPauses.falseDowns}, suspicions ${long.noPauses.suspicions} (${long.noPauses.suspicionsPerNodeHour} per node-hour)`);
  }
  result.runSeconds = Math.round((Date.now() - started) / 1000);
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
