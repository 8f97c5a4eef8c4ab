#!/usr/bin/env node
/**
 * Replays simulation runs: `npm run sim -- --seed 123 --scenario main` runs one seed with a verbose
 * trace (every message delivered, dropped or duplicated, every client op) and prints the violations.
 * `--runs 500` sweeps seeds seed..seed+499 quietly and prints the failing ones.
 */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_NODE_KIND, NODE_FACTORIES } from './node-factories.js';
import { formatFailure, SCENARIOS, type ScenarioResult } from './scenarios.js';
import type { NetworkFaults } from './sim-network.js';

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
  return (
    `scenario ${r.scenario} seed ${r.seed}: ${r.nodeCount} nodes, ${r.history.length} ops (${ok} ok), ` +
    `${r.virtualMs} virtual ms, ${r.steps} events; messages sent ${s.sent}, delivered ${s.delivered}, dropped ${s.dropped}, ` +
    `duplicated ${s.duplicated}, refused ${s.refused}, undeliverable ${s.undeliverable}; trace ${r.traceDigest.slice(0, 16)}`
  );
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('ringkv-sim')
    .description('Run ringkv deterministic simulation scenarios')
    .requiredOption('--seed <n>', 'seed to run (first seed with --runs)', uint32)
    .option('--scenario <name>', `one of: ${Object.keys(SCENARIOS).join(', ')}`, 'main')
    .option('--node <kind>', `node implementation: ${Object.keys(NODE_FACTORIES).join(', ')}`, DEFAULT_NODE_KIND)
    .option('--drop <p>', 'override the scenario\'s message loss probability', probability)
    .option('--duplicate <p>', 'override the scenario\'s message duplication probability', probability)
    .option('--runs <count>', 'sweep this many consecutive seeds, quietly', positive)
    .option('--quiet', 'no trace, only the summary and violations')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const opts = program.opts<{ seed: number; scenario: string; node: string; drop?: number; duplicate?: number; runs?: number; quiet?: boolean }>();
  const scenario = SCENARIOS[opts.scenario];
  if (!scenario) throw new UsageError(`unknown scenario ${JSON.stringify(opts.scenario)}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const createNode = NODE_FACTORIES[opts.node];
  if (!createNode) throw new UsageError(`unknown node kind ${JSON.stringify(opts.node)}; known: ${Object.keys(NODE_FACTORIES).join(', ')}`);

  const faults: Partial<NetworkFaults> = {};
  if (opts.drop !== undefined) faults.dropProbability = opts.drop;
  if (opts.duplicate !== undefined) faults.duplicateProbability = opts.duplicate;
  const base = { createNode, nodeKind: opts.node, faults };

  if (opts.runs !== undefined) {
    const failing: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const seed = (opts.seed + i) >>> 0;
      const r = await scenario(seed, base);
      if (r.violations.length > 0) {
        failing.push(seed);
        console.log(formatFailure(r, 3));
      }
      if ((i + 1) % 100 === 0 || i + 1 === opts.runs) process.stderr.write(`${i + 1}/${opts.runs} seeds, ${failing.length} failing\n`);
    }
    console.log(failing.length === 0 ? `all ${opts.runs} seeds passed` : `failing seeds: ${failing.join(' ')}`);
    return failing.length === 0 ? 0 : 1;
  }

  const traceSink = opts.quiet ? undefined : (line: string) => console.log(line);
  const r = await scenario(opts.seed, { ...base, traceSink });
  console.log(summary(r));
  if (r.violations.length === 0) {
    console.log('no violations');
    return 0;
  }
  console.log(formatFailure(r, Infinity));
  return 1;
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
