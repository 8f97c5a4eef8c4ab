/**
 * `ringkv leave` and `ringkv remove <id>`: membership changes through a node's HTTP API. Both start
 * the change and, with --wait (the default), follow it until it is done, showing the ring epoch.
 */
import type { Command } from 'commander';
import { RingkvClient, RingkvClientError } from '../client/ringkv-client.js';

interface Options {
  url: string;
  password?: string;
  node?: string;
  wait: boolean;
  timeoutS: string;
}

interface MemberRow {
  id: string;
  status: string;
  httpAddress: string | null;
}

function client(url: string, password: string | undefined): RingkvClient {
  return new RingkvClient({ url: url.split(','), ...(password !== undefined ? { password } : {}) });
}

async function follow(kv: RingkvClient, id: string, done: (row: MemberRow | undefined, ring: { epoch: number; members: string[] }) => boolean, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  let last = '';
  while (Date.now() < deadline) {
    const [members, ring] = await Promise.all([kv.members() as unknown as Promise<MemberRow[]>, kv.ring() as Promise<{ epoch: number; members: string[]; pending?: unknown[] }>]);
    const row = members.find((m) => m.id === id);
    const line = `${id}: ${row?.status ?? 'unknown'}, ring epoch ${ring.epoch}${ring.pending && ring.pending.length ? `, ${ring.pending.length} partitions moving` : ''}`;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
    if (done(row, ring)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`not done after ${timeoutS} s (the change goes on in the background; see ringkv status)`);
}

function common(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'a node\'s HTTP URL', process.env.RINGKV_URL ?? 'http://127.0.0.1:8001')
    .option('--password <password>', 'node password (default: $RINGKV_PASSWORD)', process.env.RINGKV_PASSWORD)
    .option('--no-wait', 'return once the change has started')
    .option('--timeout-s <seconds>', 'how long --wait follows the change', '600');
}

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    process.stderr.write(`ringkv: ${e instanceof RingkvClientError ? `${e.code}: ${e.message}` : (e as Error).message}\n`);
    process.exit(1);
  }
}

export function registerMembershipCommands(program: Command): void {
  common(program.command('leave').description('decommission a node: its partitions are handed to their new owners, then it is `left`'))
    .option('--node <id>', 'the node to leave (default: the node at --url); its HTTP address is taken from the member table')
    .action((opts: Options) =>
      run(async () => {
        let kv = client(opts.url, opts.password);
        const self = (await kv.health()) as { node: string };
        const id = opts.node ?? self.node;
        if (id !== self.node) {
          const row = ((await kv.members()) as unknown as MemberRow[]).find((m) => m.id === id);
          if (!row?.httpAddress) throw new Error(`no HTTP address known for ${id}`);
          kv = client(`http://${row.httpAddress}`, opts.password);
        }
        await kv.admin('POST', '/cluster/leave');
        process.stderr.write(`${id}: leaving\n`);
        if (opts.wait) await follow(client(opts.url, opts.password), id, (row, ring) => row?.status === 'left' || !ring.members.includes(id), Number(opts.timeoutS));
      }),
    );
  common(program.command('remove').description('take a dead node out of the cluster: the surviving replicas rebuild its partitions on new owners').argument('<id>', 'the node to remove'))
    .action((id: string, opts: Options) =>
      run(async () => {
        const kv = client(opts.url, opts.password);
        await kv.admin('POST', `/cluster/remove/${encodeURIComponent(id)}`);
        process.stderr.write(`${id}: removed; rebuilding its partitions\n`);
        if (opts.wait) await follow(kv, id, (_row, ring) => !ring.members.includes(id), Number(opts.timeoutS));
      }),
    );
}
