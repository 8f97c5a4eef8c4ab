#!/usr/bin/env node
/**
 * Replays and sweeps simulation runs.
 * - `npm run sim -- --seed 123 --scenario main` runs one seed with a verbose trace (every message
 *   delivered, dropped, duplicated or reset, every client op and fault) and prints the violations.
 * - `npm run sim -- --runs 100000 --scenario all` sweeps seeds 1.. of every family quietly, shows
 *   progress, and ends with a summary: seeds run, faults injected by kind, violations by checker with
 *   a replay command each. Ctrl-C stops early and still prints the summary.
 */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_NODE_KIND, NODE_KINDS } from './node-factories.js';
import { formatFailure, replayCommand, SCENARIO_DESCRIPTIONS, scenarioRuns, SCENARIOS, type ScenarioOptions, type ScenarioResult } from './scenarios.js';
import type { NetworkFaults } from './sim-network.js';
import { SweepSummary } from './sweep-summary.js';

class UsageError extends Error {}

function uint32(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`must be an integer from 0 to 4294967295, got ${value}`);
  return n;
}

function probability(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`must be a probability from 0 to 1, got ${value}`);
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000_000) throw new InvalidArgumentError(`must be a positive integer, got ${value}`);
  return n;
}

function summary(r: ScenarioResult): string {
  const ok = r.history.filter((o) => o.outcome === 'ok').length;
  const s = r.network;
  const faults = Object.entries(r.faults)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const observed = Object.entries(r.observed ?? {})
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `scenario ${r.scenario} seed ${r.seed}: ${r.nodeCount} nodes, ${r.history.length} ops (${ok} ok), ` +
    `${r.virtualMs} virtual ms, ${r.steps} events; messages sent ${s.sent}, delivered ${s.delivered}; faults: ${faults || 'none'}` +
    `${observed ? `; repairs: ${observed}` : ''}; trace ${r.traceDigest.slice(0, 16)}`
  );
}

interface CliOptions {
  seed: number;
  scenario: string;
  node: string;
  drop?: number;
  duplicate?: number;
  reset?: number;
  runs?: number;
  quiet?: boolean;
}

async function main(argv: string[]): Promise<number> {
  const names = Object.keys(SCENARIOS);
  const program = new Command()
    .name('ringkv-sim')
    .description('Run ringkv deterministic simulation scenarios: replay one seed, or sweep many with a summary.')
    .addHelpText('after', `\nScenarios:\n${names.map((n) => `  ${n.padEnd(16)} ${SCENARIO_DESCRIPTIONS[n]}`).join('\n')}`)
    .option('--seed <n>', 'seed to run (first seed with --runs)', uint32)
    .option('--scenario <name>', `one of: ${names.join(', ')}; with --runs also "all"`, 'main')
    .option('--node <kind>', `node implementation: ${Object.keys(NODE_KINDS).join(', ')}`, DEFAULT_NODE_KIND)
    .option('--drop <p>', "override the scenario's message loss probability", probability)
    .option('--duplicate <p>', "override the scenario's message duplication probability", probability)
    .option('--reset <p>', "override the scenario's probability that a delivered request's connection resets", probability)
    .option('--runs <count>', 'sweep this many consecutive seeds (per scenario), quietly, and print a summary', positive)
    .option('--quiet', 'no trace, only the summary and violations')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const opts = program.opts<CliOptions>();
  const all = opts.scenario === 'all';
  if (!all && !SCENARIOS[opts.scenario]) throw new UsageError(`unknown scenario ${JSON.stringify(opts.scenario)}; known: ${names.join(', ')}, all`);
  if (all && opts.runs === undefined) throw new UsageError('--scenario all needs --runs');
  if (!NODE_KINDS[opts.node]) throw new UsageError(`unknown node kind ${JSON.stringify(opts.node)}; known: ${Object.keys(NODE_KINDS).join(', ')}`);
  if (opts.runs === undefined && opts.seed === undefined) throw new UsageError('give --seed to replay one run, or --runs to sweep');
  if (!all && !scenarioRuns(opts.scenario, opts.node)) throw new UsageError(`scenario ${opts.scenario} runs gossip membership, which only --node cluster has`);

  const faults: Partial<NetworkFaults> = {};
  if (opts.drop !== undefined) faults.dropProbability = opts.drop;
  if (opts.duplicate !== undefined) faults.duplicateProbability = opts.duplicate;
  if (opts.reset !== undefined) faults.resetProbability = opts.reset;
  const base: ScenarioOptions = { nodeKind: opts.node, faults };

  if (opts.runs !== undefined) return sweep(all ? names.filter((n) => scenarioRuns(n, opts.node)) : [opts.scenario], opts.seed ?? 1, opts.runs, base);

  const traceSink = opts.quiet ? undefined : (line: string) => console.log(line);
  const r = await SCENARIOS[opts.scenario](opts.seed, { ...base, traceSink });
  console.log(summary(r));
  if (r.violations.length === 0) {
    console.log('no violations');
    return 0;
  }
  console.log(formatFailure(r, Infinity));
  return 1;
}

/** runs `runs` seeds of each scenario, with progress on stderr and the summary on stdout */
async function sweep(scenarios: readonly string[], firstSeed: number, runs: number, base: ScenarioOptions): Promise<number> {
  const total = new SweepSummary();
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\ninterrupted: finishing the current seed, then printing the summary (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  const started = Date.now();
  try {
    for (const name of scenarios) {
      if (interrupted) break;
      const scenarioStarted = Date.now();
      let lastReport = scenarioStarted;
      for (let i = 0; i < runs && !interrupted; i++) {
        const seed = (firstSeed + i) >>> 0;
        let result: ScenarioResult;
        try {
          result = await SCENARIOS[name](seed, base);
        } catch (e) {
          total.addCrash(name, seed, replayCommand(name, seed, base), e);
          continue;
        }
        total.add(result);
        if (result.violations.length > 0 && total.failingSeeds(name) <= 3) console.log(formatFailure(result, 3));
        const now = Date.now();
        if (now - lastReport >= 10_000 || i + 1 === runs) {
          lastReport = now;
          const rate = (i + 1) / ((now - scenarioStarted) / 1000);
          const eta = Math.round((runs - i - 1) / rate);
          process.stderr.write(`${name}: ${i + 1}/${runs} seeds, ${total.failingSeeds(name)} failing, ${rate.toFixed(1)} seeds/s, ~${eta}s left in this scenario\n`);
        }
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  console.log(total.format((Date.now() - started) / 1000));
  console.log(JSON.stringify(total.toJSON()));
  return total.anyFailing() ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (typeof err?.code === 'string' && err.code.startsWith('commander.')) {
      process.exitCode = err.exitCode ?? 2;
      return;
    }
    if (e instanceof UsageError) console.error(`error: ${e.message}`);
    else console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 2;
  },
);
