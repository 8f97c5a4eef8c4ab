/**
 * `ringkv get|put|del|members`: small client commands over the HTTP API, for trying a cluster
 * from a shell. Values go to stdout as they are; contexts and sibling counts to stderr, so
 * `ringkv get k > file` saves exactly the value.
 */
import type { Command } from 'commander';
import { RingkvClient, RingkvClientError } from '../client/ringkv-client.js';
import { formatTable } from './table.js';

interface ClientOptions {
  url: string;
  password?: string;
  r?: string;
  w?: string;
  context?: string;
  timeoutMs?: string;
}

function clientFor(opts: ClientOptions): RingkvClient {
  return new RingkvClient({ url: opts.url.split(','), ...(opts.password !== undefined ? { password: opts.password } : {}) });
}

function intOption(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'node URL (comma-separate several to spread and fail over)', process.env.RINGKV_URL ?? 'http://127.0.0.1:8001')
    .option('--password <password>', 'node password (default: $RINGKV_PASSWORD)', process.env.RINGKV_PASSWORD)
    .option('--timeout-ms <ms>', 'server-side request timeout');
}

export async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof RingkvClientError) {
      process.stderr.write(`error ${e.code}${e.status ? ` (HTTP ${e.status})` : ''}: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}

export function registerClientCommands(program: Command): void {
  withClientOptions(program.command('get <key>').description('read a key: prints the value (or each sibling) and the context'))
    .option('--r <r>', 'read quorum')
    .action((key: string, opts: ClientOptions) =>
      run(async () => {
        const res = await clientFor(opts).get(key, { r: intOption(opts.r), timeoutMs: intOption(opts.timeoutMs) });
        if (!res.found) {
          process.stderr.write(`not found${res.context ? `\ncontext: ${res.context}` : ''}\n`);
          process.exitCode = 1;
          return;
        }
        if (res.siblings.length === 1) {
          process.stdout.write(res.siblings[0]);
          if (process.stdout.isTTY) process.stdout.write('\n');
        } else {
          process.stderr.write(`${res.siblings.length} siblings (concurrent writes); write with this context to resolve them:\n`);
          res.siblings.forEach((s, i) => process.stdout.write(`[${i + 1}] ${Buffer.from(s).toString('utf8')}\n`));
        }
        process.stderr.write(`context: ${res.context}\n`);
      }),
    );

  withClientOptions(program.command('put <key> [value]').description('write a key (value from the argument, or stdin when omitted); prints the new context'))
    .option('--w <w>', 'write quorum')
    .option('--context <token>', 'context of an earlier read, to supersede what it saw')
    .action((key: string, value: string | undefined, opts: ClientOptions) =>
      run(async () => {
        const body = value !== undefined ? Buffer.from(value, 'utf8') : await readStdin();
        const res = await clientFor(opts).put(key, body, { w: intOption(opts.w), timeoutMs: intOption(opts.timeoutMs), ...(opts.context ? { context: opts.context } : {}) });
        process.stdout.write(`${res.context}\n`);
      }),
    );

  withClientOptions(program.command('del <key>').alias('delete').description('delete a key (what a read sees now, or what --context saw)'))
    .option('--w <w>', 'write quorum')
    .option('--context <token>', 'context of an earlier read')
    .action((key: string, opts: ClientOptions) =>
      run(async () => {
        const client = clientFor(opts);
        // A delete without context is concurrent with the value (it would stay as a sibling), so
        // by default delete exactly what a read sees now.
        const context = opts.context ?? (await client.get(key, { timeoutMs: intOption(opts.timeoutMs) })).context;
        await client.delete(key, { w: intOption(opts.w), timeoutMs: intOption(opts.timeoutMs), ...(context ? { context } : {}) });
      }),
    );

  withClientOptions(program.command('members').description('show the member table of the node at --url')).action((opts: ClientOptions) =>
    run(async () => {
      const members = await clientFor(opts).members();
      const columns = ['id', 'address', 'zone', 'status', 'phi', 'heartbeat'];
      const rows = members.map((m) => columns.map((c) => (m[c] === undefined || m[c] === null ? '' : typeof m[c] === 'number' ? String(Math.round((m[c] as number) * 100) / 100) : String(m[c]))));
      process.stdout.write(formatTable(columns, rows));
    }),
  );
}
