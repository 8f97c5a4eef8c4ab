/**
 * `ringkv dev`: a local cluster of K separate node processes (n1..nK) on consecutive ports, their
 * logs prefixed and forwarded, all stopped on Ctrl-C. A node that dies on its own is reported and
 * the others keep running (handy for trying failures by hand: kill one and watch).
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LocalCluster, planLocalCluster, type Settings } from './local-cluster.js';
import { formatLogLine } from './log-format.js';

interface DevOptions {
  nodes: string;
  fresh?: boolean;
  engine?: string;
  baseDir: string;
  host: string;
  httpPort: string;
  internalPort: string;
  respPort: string;
  n?: string;
  r?: string;
  w?: string;
  partitions?: string;
  logLevel: string;
}

const COLORS = [36, 33, 35, 32, 34, 31];

function positiveInt(name: string, text: string, min = 1): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) {
    process.stderr.write(`ringkv dev: --${name} must be an integer >= ${min}; got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return v;
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('start a local cluster of K node processes (n1..nK) and forward their logs; Ctrl-C stops them all')
    .option('--nodes <k>', 'number of nodes', '3')
    .option('--fresh', 'wipe the nodes\' data directories first')
    .option('--engine <kind>', 'storage engine: lsm | memory (default: the node default)')
    .option('--base-dir <dir>', 'data of node nI goes to <dir>/nI', './data')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--http-port <port>', 'HTTP port of n1; the others follow', '8001')
    .option('--internal-port <port>', 'internode port of n1; the others follow', '9001')
    .option('--resp-port <port>', 'RESP port of n1; the others follow (0 = off)', '6381')
    .option('--n <n>', 'replicas per key (default: min(3, nodes))')
    .option('--r <r>', 'read quorum (default: min(2, n))')
    .option('--w <w>', 'write quorum (default: min(2, n))')
    .option('--partitions <q>', 'partitions on the ring')
    .option('--log-level <level>', 'node log level', 'info')
    .action(async (opts: DevOptions) => {
      const count = positiveInt('nodes', opts.nodes);
      const n = opts.n !== undefined ? positiveInt('n', opts.n) : Math.min(3, count);
      const quorum = Math.min(2, n);
      const settings: Settings = {
        n,
        r: opts.r ?? quorum,
        w: opts.w ?? quorum,
        engine: opts.engine,
        partitions: opts.partitions,
        logLevel: opts.logLevel,
      };
      const specs = planLocalCluster({
        count,
        host: opts.host,
        httpPorts: positiveInt('http-port', opts.httpPort),
        internalPorts: positiveInt('internal-port', opts.internalPort),
        respPorts: positiveInt('resp-port', opts.respPort, 0),
        baseDir: opts.baseDir,
      });
      if (opts.fresh) {
        for (const s of specs) rmSync(s.dataDir, { recursive: true, force: true });
      }

      const color = process.stdout.isTTY ? (i: number, s: string) => `\x1b[${COLORS[i % COLORS.length]}m${s}\x1b[0m` : (_i: number, s: string) => s;
      const width = Math.max(...specs.map((s) => s.id.length));
      const indexOf = new Map(specs.map((s, i) => [s.id, i]));
      const prefix = (id: string): string => color(indexOf.get(id) ?? 0, `${id.padEnd(width)} |`);
      let shuttingDown = false;

      const cluster = LocalCluster.create({
        nodes: specs,
        settings,
        ownProcessGroup: true,
        onLog: (id, line) => process.stdout.write(`${prefix(id)} ${formatLogLine(line)}\n`),
        onExit: (id, code, signal, expected) => {
          if (expected || shuttingDown) return;
          process.stdout.write(`[dev] ${id} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); the other nodes keep running\n`);
        },
      });

      const stopAll = async (): Promise<void> => {
        if (shuttingDown) return;
        shuttingDown = true;
        process.stdout.write('\n[dev] stopping all nodes...\n');
        await cluster.stop();
        process.stdout.write('[dev] all nodes stopped\n');
        process.exit(0);
      };
      process.on('SIGINT', () => void stopAll());
      process.on('SIGTERM', () => void stopAll());

      process.stdout.write(`[dev] starting ${count} node${count > 1 ? 's' : ''} (n=${n}, r=${settings.r}, w=${settings.w}, engine=${opts.engine ?? 'default'}, data under ${resolve(opts.baseDir)})\n`);
      for (const node of cluster.nodes) node.spawn();
      try {
        await Promise.all(cluster.nodes.map((node) => node.waitHealthy()));
      } catch (e) {
        process.stderr.write(`[dev] ${(e as Error).message}\n`);
        await stopAll();
        return;
      }
      const lines = specs.map(
        (s) => `  ${s.id.padEnd(width)}  http://${s.host}:${s.httpPort}  internode ${s.host}:${s.internalPort}${s.respPort ? `  resp ${s.host}:${s.respPort}` : ''}  data ${s.dataDir}`,
      );
      process.stdout.write(`[dev] cluster ready:\n${lines.join('\n')}\n[dev] try: curl -X PUT --data-binary hello http://${specs[0].host}:${specs[0].httpPort}/kv/greeting\n[dev] Ctrl-C stops every node\n`);
    });
}
