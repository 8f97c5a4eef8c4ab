/**
 * Failure detection on real processes: a 5-node cluster; kill -9 one node at a time (a different one
 * each round), time until every other node's member table shows it `down`, restart it, time until
 * every other node shows it `up` again. Then the false-down check: the same cluster under a steady
 * HTTP load for a bounded time, every node's /cluster/members polled every 200 ms, counting every mark
 * of a live node as `suspect` or `down`.
 */
import type { BenchCluster, Target } from '../kit.js';
import { preload, SteadyLoad } from './load.js';
import { members } from './node-api.js';
import { fmt, ScenarioReport, type ScenarioResult } from './report.js';
import { now, quantile, say, seconds, sleep, until, WaitTimeout } from './timing.js';

export interface DetectionOptions {
  nodes: number;
  rounds: number;
  falseDownSeconds: number;
  concurrency: number;
  valueBytes: number;
  start(nodes: number): Promise<BenchCluster>;
}

const ROUND_TIMEOUT_MS = 60_000;
const GET_KEYS = 5_000;

interface Round {
  victim: string;
  /** ms from the kill until each other node showed it down */
  downMs: Record<string, number>;
  downAllMs: number;
  /** ms from the spawn of the restarted process until it answered /health */
  healthyMs: number;
  /** ms from the spawn until each other node showed it up */
  upMs: Record<string, number>;
  upAllMs: number;
}

/** polls the observers until each has shown `subject` with `status`; resolves with ms since t0 per observer */
async function timeUntilStatus(cluster: BenchCluster, observers: string[], subject: string, status: string, t0: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  await until(
    `${subject} ${status} on ${observers.join(', ')}`,
    async () => {
      await Promise.all(
        observers.map(async (id) => {
          if (seen[id] !== undefined) return;
          const rows = await members(targetOf(cluster, id), 1000).catch(() => []);
          if (rows.find((m) => m.id === subject)?.status === status) seen[id] = now() - t0;
        }),
      );
      return Object.keys(seen).length === observers.length;
    },
    ROUND_TIMEOUT_MS,
    100,
  );
  return seen;
}

function targetOf(cluster: BenchCluster, id: string): Target {
  return cluster.targets[cluster.cluster.nodes.findIndex((n) => n.id === id)];
}

async function everyoneUp(cluster: BenchCluster): Promise<boolean> {
  const tables = await Promise.all(cluster.targets.map((t) => members(t, 1000)));
  return tables.every((rows) => rows.length === cluster.targets.length && rows.every((m) => m.status === 'up'));
}

export async function detection(o: DetectionOptions): Promise<ScenarioResult> {
  const report = new ScenarioReport('detection');
  say(`detection: starting ${o.nodes} nodes`);
  const cluster = await o.start(o.nodes);
  const ids = cluster.cluster.nodes.map((n) => n.id);
  const rounds: Round[] = [];
  const body = async (): Promise<void> => {
    await until('every member up on every node', () => everyoneUp(cluster), ROUND_TIMEOUT_MS, 200);
    for (let r = 0; r < o.rounds; r++) {
      const victim = cluster.cluster.nodes[r % ids.length];
      const observers = ids.filter((id) => id !== victim.id);
      try {
        await until('every member up on every node', () => everyoneUp(cluster), ROUND_TIMEOUT_MS, 200);
        const killedAt = now();
        await victim.kill('SIGKILL');
        const downMs = await timeUntilStatus(cluster, observers, victim.id, 'down', killedAt);
        const spawnedAt = now();
        victim.spawn();
        await victim.waitHealthy(ROUND_TIMEOUT_MS);
        const healthyMs = now() - spawnedAt;
        const upMs = await timeUntilStatus(cluster, observers, victim.id, 'up', spawnedAt);
        const round: Round = { victim: victim.id, downMs, downAllMs: Math.max(...Object.values(downMs)), healthyMs, upMs, upAllMs: Math.max(...Object.values(upMs)) };
        rounds.push(round);
        say(`  round ${r + 1}/${o.rounds}: kill -9 ${victim.id}: down on every other node after ${seconds(round.downAllMs)} s; restarted, healthy after ${seconds(healthyMs)} s, up everywhere after ${seconds(round.upAllMs)} s`);
      } catch (e) {
        if (!(e instanceof WaitTimeout)) throw e;
        report.problem(`round ${r + 1} (${victim.id}): ${e.message}`);
        if (!victim.running) {
          victim.spawn();
          await victim.waitHealthy(ROUND_TIMEOUT_MS);
        }
      }
    }
    if (rounds.length === 0) throw new Error('no detection round completed');
    const downAll = rounds.map((r) => r.downAllMs);
    const downEach = rounds.flatMap((r) => Object.values(r.downMs));
    const upAll = rounds.map((r) => r.upAllMs);
    report.add(`kill -9 → down on every other node (${rounds.length} kills, ${o.nodes} nodes), median`, fmt.s(quantile(downAll, 0.5)), 'target ≤ 3 s');
    report.add('kill -9 → down on every other node, worst', fmt.s(Math.max(...downAll)), 'target ≤ 6 s');
    report.add(`kill -9 → down, each observer (${downEach.length}): median / p90`, `${fmt.s(quantile(downEach, 0.5))} / ${fmt.s(quantile(downEach, 0.9))}`);
    report.add('restart (spawn) → up on every other node, median / worst', `${fmt.s(quantile(upAll, 0.5))} / ${fmt.s(Math.max(...upAll))}`, `of which the process's own start to /health: median ${fmt.s(quantile(rounds.map((r) => r.healthyMs), 0.5))}`);
    report.data.rounds = rounds;
    if (o.falseDownSeconds > 0) await falseDowns(cluster, o, report);
  };
  return report.run(body, () => cluster.stop());
}

async function falseDowns(cluster: BenchCluster, o: DetectionOptions, report: ScenarioReport): Promise<void> {
  await until('every member up on every node', () => everyoneUp(cluster), ROUND_TIMEOUT_MS, 200);
  await preload(cluster.targets, { prefix: 'det', count: GET_KEYS, valueBytes: o.valueBytes, concurrency: o.concurrency, maxSeconds: 120 });
  say(`  false-down check: ${o.falseDownSeconds} s of steady load (${o.concurrency} clients, half puts, half gets, over all ${o.nodes} nodes), /cluster/members of every node every 200 ms`);
  const load = new SteadyLoad({ targets: cluster.targets, concurrency: o.concurrency, putFraction: 0.5, putPrefix: 'fd', getKeys: { prefix: 'det', count: GET_KEYS }, valueBytes: o.valueBytes, maxSeconds: o.falseDownSeconds + 60, maxOps: Number.MAX_SAFE_INTEGER });
  const ids = cluster.cluster.nodes.map((n) => n.id);
  const last = new Map<string, string>();
  const marks = { suspect: 0, down: 0, other: 0 };
  const events: Array<{ atS: number; observer: string; subject: string; status: string; phi: number | null }> = [];
  let polls = 0;
  let pollFailures = 0;
  let notUpObservations = 0;
  let maxPhi = 0;
  const start = now();
  const end = start + o.falseDownSeconds * 1000;
  let nextProgress = start + 30_000;
  try {
    for (let tick = start; now() < end; tick += 200) {
      await Promise.all(
        ids.map(async (observer, i) => {
          polls++;
          let rows;
          try {
            rows = await members(cluster.targets[i], 2000);
          } catch {
            pollFailures++;
            return;
          }
          for (const m of rows) {
            if (m.id === observer) continue;
            maxPhi = Math.max(maxPhi, m.phi ?? 0);
            const pair = `${observer}>${m.id}`;
            if (m.status !== 'up') notUpObservations++;
            if (m.status !== 'up' && (last.get(pair) ?? 'up') !== m.status) {
              if (m.status === 'suspect' || m.status === 'down') marks[m.status]++;
              else marks.other++;
              events.push({ atS: seconds(now() - start), observer, subject: m.id, status: m.status, phi: m.phi });
              say(`    ${observer} marked ${m.id} ${m.status} (phi ${m.phi}) at ${seconds(now() - start)} s`);
            }
            last.set(pair, m.status);
          }
        }),
      );
      if (now() > nextProgress) {
        const r = load.rate(nextProgress - 30_000, nextProgress);
        say(`    ${Math.round((now() - start) / 1000)} s: ${marks.suspect} suspect, ${marks.down} down marks so far; load ${r.putsPerSec + r.getsPerSec} ops/s`);
        nextProgress += 30_000;
      }
      await sleep(Math.max(0, tick + 200 - now()));
    }
  } finally {
    await load.stop();
  }
  const rate = load.rate(start, end);
  report.add(`false marks of live nodes in ${o.falseDownSeconds} s under load: down / suspect`, `${marks.down} / ${marks.suspect}`, 'target 0 down');
  report.add('  member-table polls (failed), highest phi seen', `${polls.toLocaleString('en-US')} (${pollFailures}), ${maxPhi.toFixed(2)}`);
  report.add('  foreground load meanwhile', `${rate.putsPerSec + rate.getsPerSec} ops/s (${rate.errorsPerSec} errors/s)`);
  report.data.falseDown = { seconds: o.falseDownSeconds, marks, notUpObservations, polls, pollFailures, maxPhi, events: events.slice(0, 100), load: rate, loadFirstError: load.firstError };
  if (marks.down > 0) report.problem(`${marks.down} down mark(s) of live nodes during the loaded run (first: ${JSON.stringify(events.find((e) => e.status === 'down'))})`);
}
