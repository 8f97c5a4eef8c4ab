/**
 * Operator commands, nodetool-style: `ringkv status`, `ring`, `info <node>`, `top`, `repair`,
 * `transfers`, `hints`. Each takes --url, --password and
 * --json. Exit codes (EXIT below): 0 ok; 1 the node could not be asked or answered an error; 2 a usage
 * error; 3 `status`: some member is not up; 4 the feature is not in this version of ringkv.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { RingkvClient } from '../client/ringkv-client.js';
import type { ClusterOverview } from '../ops/cluster-watcher.js';
import type { NodeStatus } from '../ops/node-status.js';
import { run, withClientOptions } from './client-commands.js';
import { formatHints, formatInfo, formatRing, formatStatus, formatTop, formatTransfers, repairSummary } from './ops-format.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, degraded: 3, notInThisVersion: 4 } as const;

interface OpsOptions {
  url: string;
  password?: string;
  json?: boolean;
  partitions?: boolean;
  wait?: string;
  intervalMs?: string;
  iterations?: string;
}

function clientFor(opts: OpsOptions, url = opts.url): RingkvClient {
  return new RingkvClient({ url: url.split(','), timeoutMs: 10_000, ...(opts.password !== undefined ? { password: opts.password } : {}) });
}

function print(text: string): void {
  process.stdout.write(text);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function usage(message: string): never {
  process.stderr.write(`ringkv: ${message}\n`);
  process.exit(EXIT.usage);
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) usage(`${name} must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

/** a one-off overview without per-second history, so --json stays small */
function allUp(o: ClusterOverview): boolean {
  return o.members.every((m) => m.status === 'up');
}

/** `--wait <s>`: asks again until every member is up, with a progress bar on a terminal */
async function waitUntilUp(client: RingkvClient, seconds: number): Promise<ClusterOverview> {
  const deadline = Date.now() + seconds * 1000;
  let overview = await client.overview();
  const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'members up {bar} {value}/{total} {names}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  const up = (o: ClusterOverview): number => o.members.filter((m) => m.status === 'up').length;
  const down = (o: ClusterOverview): string => o.members.filter((m) => m.status !== 'up').map((m) => `${m.id} ${m.status}`).join(', ');
  bar?.start(overview.members.length, up(overview), { names: down(overview) });
  try {
    while (!allUp(overview) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      overview = await client.overview();
      bar?.setTotal(overview.members.length);
      bar?.update(up(overview), { names: down(overview) });
    }
  } finally {
    bar?.stop();
  }
  return overview;
}

async function resolveNode(opts: OpsOptions, node: string): Promise<{ status: NodeStatus; seenAs?: { status: string; error: string | null } }> {
  if (/^https?:\/\//.test(node)) return { status: await clientFor(opts, node).status() };
  const overview = await clientFor(opts).overview();
  const member = overview.members.find((m) => m.id === node);
  if (!member) usage(`no member ${JSON.stringify(node)} in the cluster of ${opts.url} (members: ${overview.members.map((m) => m.id).join(', ')})`);
  if (!member.node) {
    process.stderr.write(`ringkv: ${node} is ${member.status}: ${member.error ?? 'its status is not available'}\n`);
    process.exit(EXIT.failed);
  }
  return { status: member.node, seenAs: { status: member.status, error: member.error } };
}

export function registerOpsCommands(program: Command): void {
  withClientOptions(program.command('status').description(`the cluster as the node at --url sees it: one row per member (exit ${EXIT.degraded} when a member is not up)`))
    .option('--json', 'print the cluster overview as JSON')
    .option('--wait <seconds>', 'wait up to this long for every member to be up (progress on a terminal)')
    .action((opts: OpsOptions) =>
      run(async () => {
        const client = clientFor(opts);
        const overview = opts.wait !== undefined ? await waitUntilUp(client, positive('--wait', opts.wait, 0)) : await client.overview();
        if (opts.json) printJson(overview);
        else print(formatStatus(overview));
        if (!allUp(overview)) process.exitCode = EXIT.degraded;
      }),
    );

  withClientOptions(program.command('ring').description('the ring of the node at --url: partitions per member (a table; --json for /cluster/ring)'))
    .option('--json', 'print /cluster/ring as JSON')
    .option('--partitions', 'also list every partition (consecutive ones with one preference list as a range)')
    .action((opts: OpsOptions) =>
      run(async () => {
        const ring = await clientFor(opts).ring();
        if (opts.json) printJson(ring);
        else print(formatRing(ring as unknown as Parameters<typeof formatRing>[0], opts.partitions === true));
      }),
    );

  withClientOptions(program.command('info <node>').description('one node\'s status: a member id (asked through --url) or a URL'))
    .option('--json', 'print /cluster/status as JSON')
    .action((node: string, opts: OpsOptions) =>
      run(async () => {
        const { status, seenAs } = await resolveNode(opts, node);
        if (opts.json) printJson(status);
        else print(formatInfo(status, seenAs));
      }),
    );

  withClientOptions(program.command('top').description('a refreshing view of every node\'s request rates and latencies (q or Ctrl-C quits)'))
    .option('--json', 'print one JSON overview per refresh, one per line')
    .option('--interval-ms <ms>', 'refresh period', '2000')
    .option('--iterations <n>', 'stop after this many refreshes (default: until quit; 1 when stdout is not a terminal)')
    .action((opts: OpsOptions) =>
      run(async () => {
        const client = clientFor(opts);
        const intervalMs = positive('--interval-ms', opts.intervalMs, 2000);
        const tty = process.stdout.isTTY === true && !opts.json;
        const iterations = positive('--iterations', opts.iterations, tty || opts.json ? Infinity : 1);
        let quit = false;
        if (tty && process.stdin.isTTY) {
          process.stdin.setRawMode(true);
          process.stdin.resume();
          process.stdin.on('data', (d: Buffer) => {
            if (d[0] === 0x71 || d[0] === 0x03) quit = true; // q, Ctrl-C
          });
        }
        try {
          for (let i = 0; i < iterations && !quit; i++) {
            if (i > 0) {
              const until = Date.now() + intervalMs;
              while (Date.now() < until && !quit) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
              if (quit) break;
            }
            const overview = await client.overview();
            if (opts.json) process.stdout.write(`${JSON.stringify(overview)}\n`);
            else print(`${tty ? '\x1b[2J\x1b[H' : i > 0 ? '\n' : ''}${formatTop(overview)}${tty ? '\n(q quits)\n' : ''}`);
          }
        } finally {
          if (tty && process.stdin.isTTY) {
            process.stdin.setRawMode(false);
            process.stdin.pause();
          }
        }
      }),
    );

  const section = (name: 'hints' | 'transfers', what: string, arrives: string): void => {
    withClientOptions(program.command(name).description(`${what} on the node at --url (exit ${EXIT.notInThisVersion} from a node without ${arrives})`))
      .option('--json', 'print the section of /cluster/status as JSON')
      .action((opts: OpsOptions) =>
        run(async () => {
          const status = await clientFor(opts).status();
          const key = name === 'hints' ? 'hints' : 'transfers';
          if (status[key] === undefined) {
            process.stderr.write(`ringkv ${name}: ${arrives} is not in this version of ringkv (${status.node} reports no ${key})\n`);
            process.exitCode = EXIT.notInThisVersion;
            return;
          }
          if (opts.json) printJson(status[key]);
          else print(name === 'transfers' ? formatTransfers(status.transfers!) : formatHints(status.hints!));
        }),
      );
  };
  section('hints', 'the hints the node at --url holds for replicas that were down', 'hinted handoff');
  section('transfers', 'partitions the node at --url is pulling in a ring change', 'ownership transfer');

  withClientOptions(program.command('repair').description('run an anti-entropy exchange of every partition the node at --url replicates (or one) now, with a progress bar'))
    .option('--partition <p>', 'only this partition (the node must hold a replica of it)')
    .option('--json', 'print the finished repair as JSON')
    .action((opts: OpsOptions & { partition?: string }) =>
      run(async () => {
        if (opts.partition !== undefined && !/^\d{1,6}$/.test(opts.partition)) usage(`--partition must be a partition number, got ${JSON.stringify(opts.partition)}`);
        const client = clientFor(opts);
        const started = await client.repair(opts.partition === undefined ? undefined : Number(opts.partition));
        if (started.alreadyRunning) process.stderr.write(`ringkv repair: a repair is already running on this node (#${started.repair.id}); following it\n`);
        const bar = process.stderr.isTTY && !opts.json ? new cliProgress.SingleBar({ format: 'repair {bar} {value}/{total} partitions', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
        bar?.start(Math.max(1, started.repair.partitionsTotal), 0);
        let repair = started.repair;
        try {
          while (repair.running) {
            await new Promise((r) => setTimeout(r, 300));
            const latest = (await client.status()).antiEntropy?.operatorRepair;
            if (!latest || latest.id !== started.repair.id) throw new Error('the node no longer reports this repair (did it restart?)');
            repair = latest;
            bar?.setTotal(Math.max(1, repair.partitionsTotal));
            bar?.update(repair.partitionsDone);
          }
        } finally {
          bar?.stop();
        }
        if (opts.json) printJson(repair);
        else print(`repair #${repair.id}${repair.partition !== null ? ` of partition ${repair.partition}` : ''}: ${repairSummary(repair)}\n`);
        if (repair.error) process.exitCode = EXIT.failed;
      }),
    );
}
