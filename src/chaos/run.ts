/**
 * One harness run, executed inside the hub namespace: start the cluster, start the clients, walk the
 * schedule (quiet periods, faults, convergence checks), stop everything, judge the history, write
 * the outputs. Exit code: 0 every checker passed, 1 a checker failed, 2 the harness itself failed,
 * 130 interrupted.
 */
import { ensureClusterSecretFile } from '../cli/cluster-secret-file.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../sim/seeded-random.js';
import { judge } from './checkers/verdict.js';
import { ChaosCluster, INTERNAL_PORT, RESP_PORT, type ChaosNode } from './cluster.js';
import { convergenceCheck, type KeyToCheck } from './convergence.js';
import { HistoryRecorder, type WorkloadName } from './history.js';
import { nemesisByName } from './nemeses.js';
import { runDirectory } from './names.js';
import { ReplicaProbe } from './replica-probe.js';
import { figuresJson, humanReport } from './report.js';
import type { Step } from './schedule.js';
import { Interrupted, waitOrInterrupt as wait } from './sys.js';
import { timelineHtml } from './timeline.js';
import { CounterWorkload } from './workloads/counter.js';
import type { TargetNode, WorkloadEnv } from './workloads/env.js';
import { Gate } from './workloads/gate.js';
import { RegisterWorkload } from './workloads/register.js';
import { SetFullWorkload, SHARED_SET_KEY } from './workloads/set-full.js';

export interface RunOptions {
  scheduleName: string;
  steps: Step[];
  /** nemeses left out of the schedule and why (printed, and kept in the result) */
  skipped: Array<{ nemesis: string; why: string }>;
  nodes: number;
  n: number;
  r: number;
  w: number;
  requestTimeoutMs: number;
  clientTimeoutMs: number;
  commitlogSync: 'batch' | 'periodic';
  diskMiB: number;
  checkTimeLimitMs: number;
  /** operations each workload may start in the whole run */
  maxOpsPerWorkload: number;
  /** unique set-full keys older than the last check that each check reads again */
  recheckSample: number;
  seed: number;
  outDir: string;
  faketimeLib?: string;
  delayMethod?: 'netem' | 'nfqueue';
}

const targetOf = (n: ChaosNode): TargetNode => ({ id: n.id, address: n.address, httpUrl: n.httpUrl, respPort: RESP_PORT });
const probeNodeOf = (n: ChaosNode): { id: string; address: string; internalPort: number } => ({ id: n.id, address: n.address, internalPort: INTERNAL_PORT });

export async function runInside(runId: string, o: RunOptions, signal: AbortSignal, log: (line: string) => void): Promise<number> {
  const wallStart = Date.now();
  mkdirSync(o.outDir, { recursive: true });
  const history = new HistoryRecorder(join(o.outDir, 'history.jsonl'));
  const random = new SeededRandom(o.seed, 'chaos');
  const rnd = (): number => random.next();
  /** the nodes clients and convergence reads go through, kept equal to cluster.serving (see syncTargets) */
  const targets: TargetNode[] = [];
  let onMembersChanged = (): void => {};
  const cluster = new ChaosCluster({
    runId,
    runDir: runDirectory(runId),
    logDir: join(o.outDir, 'logs'),
    nodes: o.nodes,
    n: o.n,
    r: o.r,
    w: o.w,
    requestTimeoutMs: o.requestTimeoutMs,
    commitlogSync: o.commitlogSync,
    diskMiB: o.diskMiB,
    ...(o.faketimeLib ? { faketimeLib: o.faketimeLib } : {}),
    ...(o.delayMethod ? { delayMethod: o.delayMethod } : {}),
    onUnexpectedExit: (node, code, sig) => {
      log(`!! ${node} exited by itself (code ${code}, signal ${sig})`);
      history.add({ type: 'node-exit', node, code, signal: sig, atMs: history.nowMs() });
    },
    onMembersChanged: () => onMembersChanged(),
  });
  const gate = new Gate();
  let probe: ReplicaProbe | undefined;
  const workers: Array<Promise<void>> = [];
  try {
    log(`starting ${o.nodes} nodes (n=${o.n} r=${o.r} w=${o.w}, commit log ${o.commitlogSync}) in their own network namespaces`);
    await cluster.start();
    history.add({
      type: 'meta',
      version: 1,
      startedAt: new Date(wallStart).toISOString(),
      nodes: cluster.ids,
      n: o.n,
      r: o.r,
      w: o.w,
      requestTimeoutMs: o.requestTimeoutMs,
      clientTimeoutMs: o.clientTimeoutMs,
      commitlogSync: o.commitlogSync,
      schedule: o.scheduleName,
      seed: o.seed,
    });
    targets.push(...cluster.serving.map(targetOf));
    probe = await ReplicaProbe.open(
      cluster.nodes.map(probeNodeOf),
      targets[0].httpUrl,
      o.clientTimeoutMs,
      ensureClusterSecretFile(cluster.clusterSecretFile),
    );
    const env: WorkloadEnv = {
      history,
      nodes: targets,
      clientTimeoutMs: o.clientTimeoutMs,
      serverTimeoutMs: o.requestTimeoutMs,
      random: rnd,
      gate,
      budget: new Map<WorkloadName, number>([
        ['set-full', o.maxOpsPerWorkload],
        ['counter', o.maxOpsPerWorkload],
        ['register', o.maxOpsPerWorkload],
      ]),
    };
    const setFull = new SetFullWorkload(env, { thinkMs: 30, sharedThinkMs: 150, readerR: 1 });
    const counter = new CounterWorkload(env, 30);
    const register = new RegisterWorkload(env, 100);
    const startWorkers = (nodes: TargetNode[]): void => void workers.push(...setFull.workers(nodes), ...counter.workers(nodes), ...register.workers(nodes));
    startWorkers(targets);
    // a node that joined gets its own workers; one that left or was removed leaves the targets, and its workers end
    onMembersChanged = () => {
      const serving = cluster.serving;
      for (let i = targets.length - 1; i >= 0; i--) if (!serving.some((n) => n.id === targets[i].id)) targets.splice(i, 1);
      const joined = serving.filter((n) => !targets.some((t) => t.id === n.id)).map(targetOf);
      targets.push(...joined);
      if (joined.length > 0) startWorkers(joined);
    };
    log(`clients running: set-full over HTTP, counter over RESP INCRBY, register over RESP GET/SET`);

    let checkNo = 0;
    let uniqueChecked = 0;
    let lastWindow = 'start';
    for (const [i, step] of o.steps.entries()) {
      if (step.kind === 'quiet') {
        await wait(step.ms, signal);
      } else if (step.kind === 'fault') {
        const nemesis = nemesisByName(step.nemesis);
        const startMs = history.nowMs();
        const fault = await nemesis.start(cluster, rnd);
        const appliedMs = history.nowMs();
        log(`fault ${step.nemesis}: ${fault.description} (${step.ms / 1000} s)`);
        try {
          await wait(step.ms, signal);
        } finally {
          const endMs = history.nowMs();
          await fault.heal();
          history.add({ type: 'fault', step: i, nemesis: step.nemesis, description: fault.description, affected: fault.affected, startMs, appliedMs, endMs, healedMs: history.nowMs() });
          lastWindow = step.nemesis;
        }
      } else {
        const startMs = history.nowMs();
        await gate.pauseAndDrain();
        await cluster.healAll();
        // membership may have changed: the probe reads the preference lists (and learns new addresses) again
        await probe.refresh(cluster.nodes.map(probeNodeOf), targets[0].httpUrl, o.clientTimeoutMs);
        const checkStartMs = history.nowMs();
        const older = setFull.uniqueKeys.slice(0, uniqueChecked);
        const fresh = setFull.uniqueKeys.slice(uniqueChecked);
        uniqueChecked = setFull.uniqueKeys.length;
        const sample = older.length <= o.recheckSample ? older : Array.from({ length: o.recheckSample }, () => older[Math.floor(rnd() * older.length)]);
        const keys: KeyToCheck[] = [
          { workload: 'set-full', key: SHARED_SET_KEY, kind: 'elements', everyNode: true },
          ...counter.keys().map((key): KeyToCheck => ({ workload: 'counter', key, kind: 'counter', everyNode: true })),
          ...register.keys().map((key): KeyToCheck => ({ workload: 'register', key, kind: 'register', everyNode: true })),
          ...[...new Set([...fresh, ...sample])].map((key): KeyToCheck => ({ workload: 'set-full', key, kind: 'values', everyNode: false })),
        ];
        const recs = await convergenceCheck({ history, nodes: targets, probe, n: o.n, requestTimeoutMs: o.requestTimeoutMs, clientTimeoutMs: o.clientTimeoutMs }, checkNo, keys, o.checkTimeLimitMs);
        const endMs = history.nowMs();
        history.add({ type: 'check', check: checkNo, after: lastWindow, startMs: checkStartMs, endMs });
        const diverged = recs.filter((r) => !r.converged).length;
        log(`check ${checkNo} after ${lastWindow}: ${recs.length - diverged}/${recs.length} keys converged (${((endMs - startMs) / 1000).toFixed(1)} s)`);
        checkNo++;
        if (signal.aborted) throw new Interrupted('interrupted');
        gate.resume();
      }
    }
  } catch (e) {
    await gate.stop();
    await Promise.allSettled(workers);
    await probe?.close();
    await cluster.stop();
    await history.close();
    if (e instanceof Interrupted) {
      log('interrupted: stopped the clients and the nodes');
      return 130;
    }
    log(`harness error: ${(e as Error).stack ?? e}`);
    process.stdout.write(`${JSON.stringify({ result: 'error', error: String((e as Error).message ?? e) })}\n`);
    return 2;
  }
  await gate.stop();
  await Promise.all(workers);
  await probe?.close();
  await cluster.stop();
  await history.close();

  const verdict = judge(history.records);
  const title = `ringkv chaos: ${o.scheduleName} schedule, ${o.nodes} nodes, seed ${o.seed}`;
  writeFileSync(join(o.outDir, 'timeline.html'), timelineHtml(history.records, title));
  const report = humanReport(verdict, true);
  writeFileSync(join(o.outDir, 'summary.txt'), `${report}\n`);
  const durationS = Math.round((Date.now() - wallStart) / 100) / 10;
  const json = figuresJson(verdict, { schedule: o.scheduleName, nodes: o.nodes, seed: o.seed, durationS, skipped: o.skipped, out: o.outDir });
  writeFileSync(join(o.outDir, 'result.json'), `${json}\n`);
  process.stdout.write(`${report}\n\nhistory: ${join(o.outDir, 'history.jsonl')}\ntimeline: ${join(o.outDir, 'timeline.html')}\n${json}\n`);
  return verdict.violations.length === 0 ? 0 : 1;
}
