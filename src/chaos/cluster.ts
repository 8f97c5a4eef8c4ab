/**
 * A cluster of real `ringkv start` processes, each in its own network namespace with its own tmpfs
 * data directory and (when clock faults are wanted) its own libfaketime clock file, and the levers the
 * nemeses pull: kill, restart, pause, resume, iptables drops, packet loss, netem delay, clock offsets,
 * full and wiped disks, and membership changes (a node joins, leaves, is removed). Every lever but
 * the membership changes has an undo, and healAll() pulls them all back; a node that left or was
 * removed stays gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCluster, type LocalClusterOptions, type LocalNode, type LocalNodeSpec } from '../cli/local-cluster.js';
import { fillDisk, freeDisk, mountNodeDisk, wipeDataDir, type NodeDisk } from './disk.js';
import { nodeAddress, nodeNamespace, RUN_ENV } from './names.js';
import { addNodeNetwork, DELAY_CHAIN, LOSS_CHAIN, NODE_INTERFACE, PARTITION_CHAIN } from './netns.js';
import { postMembership, readMembers, waitFor, waitRingSettled } from './ring-watch.js';
import { inNetns, run, waitUntil } from './sys.js';

/** the userspace delayer used where the kernel has no sch_netem (compiled layout first, then source) */
const NFQUEUE_DELAYER = [new URL('../../../scripts/chaos/nfqueue-delay.py', import.meta.url), new URL('../../scripts/chaos/nfqueue-delay.py', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p));

export const HTTP_PORT = 8001;
export const INTERNAL_PORT = 9001;
export const RESP_PORT = 6381;
/** how long a membership change may take to settle (transfers under load on a busy machine) */
export const SETTLE_TIMEOUT_MS = 120_000;
/** how long a killed node may take to be marked down by the others */
const DOWN_TIMEOUT_MS = 30_000;

export interface ClusterOptions {
  runId: string;
  runDir: string;
  logDir: string;
  nodes: number;
  n: number;
  r: number;
  w: number;
  requestTimeoutMs: number;
  commitlogSync: 'batch' | 'periodic';
  diskMiB: number;
  /** libfaketime library: nodes run under it so their clocks can be moved (undefined = real clocks) */
  faketimeLib?: string;
  /** how setDelay delays packets (see preflight) */
  delayMethod?: 'netem' | 'nfqueue';
  /** the compiled CLI (main.js) the nodes run @default this build's */
  nodeCli?: string;
  /** a node process ended without being asked to */
  onUnexpectedExit: (nodeId: string, code: number | null, signal: NodeJS.Signals | null) => void;
  /** the nodes that take client traffic changed (a node joined, or is gone) */
  onMembersChanged?: () => void;
}

export interface DelaySpec {
  delayMs: number;
  jitterMs: number;
}

export interface ChaosNode {
  id: string;
  index: number;
  ns: string;
  address: string;
  httpUrl: string;
  disk: NodeDisk;
  clockFile: string;
  local: LocalNode;
  state: 'up' | 'down' | 'paused';
  /** leaving: still serving while it hands its partitions over; left / removed: gone for good */
  membership: 'member' | 'leaving' | 'left' | 'removed';
}

export class ChaosCluster {
  readonly nodes: ChaosNode[] = [];
  private readonly logs = new Map<string, WriteStream>();
  private local: LocalCluster | undefined;
  private localOptions: LocalClusterOptions | undefined;
  private readonly offsets = new Map<string, number>();
  private readonly filled = new Set<string>();
  private delayed = false;
  private delayers: ChildProcess[] = [];

  constructor(readonly opts: ClusterOptions) {}

  /** the nodes' shared internode secret (made when the cluster starts) */
  get clusterSecretFile(): string {
    return join(this.opts.runDir, 'cluster-secret');
  }

  /** the members the nemeses act on (not a node that is leaving, left or was removed) */
  get ids(): string[] {
    return this.members().map((n) => n.id);
  }

  private members(): ChaosNode[] {
    return this.nodes.filter((n) => n.membership === 'member');
  }

  /** the nodes clients and convergence reads go through: members, and a leaving node until it has left */
  get serving(): ChaosNode[] {
    return this.nodes.filter((n) => n.membership === 'member' || n.membership === 'leaving');
  }

  node(id: string): ChaosNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** namespaces, disks, clock files, processes; resolves when every node answers /health */
  async start(): Promise<void> {
    const o = this.opts;
    mkdirSync(o.logDir, { recursive: true });
    const prepared: Array<{ spec: LocalNodeSpec; disk: NodeDisk }> = [];
    for (let i = 1; i <= o.nodes; i++) prepared.push(await this.prepareNode(i));
    this.localOptions = {
      nodes: prepared.map((p) => p.spec),
      clusterSecretFile: this.clusterSecretFile,
      ...(o.nodeCli !== undefined ? { cli: o.nodeCli } : {}),
      settings: { n: o.n, r: o.r, w: o.w, requestTimeoutMs: o.requestTimeoutMs, commitlogSync: o.commitlogSync, logLevel: 'info' },
      launcher: (spec) => ({
        command: 'nsenter',
        args: [`--net=/run/netns/${nodeNamespace(o.runId, spec.id)}`],
        env: {
          [RUN_ENV]: o.runId,
          ...(o.faketimeLib
            ? { LD_PRELOAD: o.faketimeLib, FAKETIME_TIMESTAMP_FILE: this.clockFile(spec.id), FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_CACHE_DURATION: '1' }
            : {}),
        },
      }),
      onLog: (id, line) => this.logs.get(id)?.write(`${line}\n`),
      onExit: (id, code, signal, expected) => {
        this.logs.get(id)?.write(`--- process exited: code ${code} signal ${signal}${expected ? '' : ' (UNEXPECTED)'}\n`);
        if (!expected) {
          const n = this.nodes.find((x) => x.id === id);
          if (n) n.state = 'down';
          o.onUnexpectedExit(id, code, signal);
        }
      },
      startTimeoutMs: 30_000,
    };
    this.local = LocalCluster.create(this.localOptions);
    this.local.nodes.forEach((local, i) => this.nodes.push(this.chaosNode(i + 1, prepared[i].disk, local)));
    for (const n of this.nodes) n.local.spawn();
    await Promise.all(this.nodes.map((n) => n.local.waitHealthy()));
  }

  /** node n<index>: its namespace and address, tmpfs disk, clock file and log */
  private async prepareNode(index: number): Promise<{ spec: LocalNodeSpec; disk: NodeDisk }> {
    const id = `n${index}`;
    const address = nodeAddress(index);
    await addNodeNetwork(this.opts.runId, id, index, address);
    const disk = await mountNodeDisk(join(this.opts.runDir, `disk-${id}`), this.opts.diskMiB);
    writeFileSync(this.clockFile(id), '+0\n');
    this.logs.set(id, createWriteStream(join(this.opts.logDir, `${id}.log`), { flags: 'a' }));
    return { spec: { id, host: address, httpPort: HTTP_PORT, internalPort: INTERNAL_PORT, respPort: RESP_PORT, dataDir: disk.dataDir }, disk };
  }

  private chaosNode(index: number, disk: NodeDisk, local: LocalNode): ChaosNode {
    const spec = local.spec;
    return {
      id: spec.id,
      index,
      ns: nodeNamespace(this.opts.runId, spec.id),
      address: spec.host,
      httpUrl: `http://${spec.host}:${HTTP_PORT}`,
      disk,
      clockFile: this.clockFile(spec.id),
      local,
      state: 'up',
      membership: 'member',
    };
  }

  private clockFile(id: string): string {
    return join(this.opts.runDir, `clock-${id}`);
  }

  // ---- processes ---------------------------------------------------------------------------------

  async kill(id: string): Promise<void> {
    const n = this.node(id);
    if (n.state === 'paused') n.local.signal('SIGCONT');
    await n.local.kill('SIGKILL');
    n.state = 'down';
  }

  async restart(id: string): Promise<void> {
    const n = this.node(id);
    if (n.local.running) return;
    n.local.spawn();
    await n.local.waitHealthy();
    n.state = 'up';
  }

  pause(id: string): void {
    const n = this.node(id);
    n.local.signal('SIGSTOP');
    n.state = 'paused';
  }

  resume(id: string): void {
    const n = this.node(id);
    n.local.signal('SIGCONT');
    if (n.state === 'paused') n.state = 'up';
  }

  // ---- network -----------------------------------------------------------------------------------

  /** drops every packet from `from` arriving at `to`, for each pair given; replaces the previous set */
  async setDrops(pairs: Array<[from: string, to: string]>): Promise<void> {
    for (const n of this.nodes) {
      await inNetns(n.ns, 'iptables', ['-w', '-F', PARTITION_CHAIN]);
      for (const [from, to] of pairs) {
        if (to === n.id) await inNetns(n.ns, 'iptables', ['-w', '-A', PARTITION_CHAIN, '-s', this.node(from).address, '-j', 'DROP']);
      }
    }
  }

  /** drops this fraction of every packet a node receives (clients' and peers'); 0 removes the rule */
  async setLoss(probability: number): Promise<void> {
    for (const n of this.nodes) {
      await inNetns(n.ns, 'iptables', ['-w', '-F', LOSS_CHAIN]);
      if (probability > 0) {
        await inNetns(n.ns, 'iptables', ['-w', '-A', LOSS_CHAIN, '-i', NODE_INTERFACE, '-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP']);
      }
    }
  }

  /**
   * delays every packet a node sends by delayMs with normal jitter; null removes it. tc netem where the
   * kernel has it, else an iptables NFQUEUE rule and scripts/chaos/nfqueue-delay.py in each namespace.
   */
  async setDelay(spec: DelaySpec | null): Promise<void> {
    if (spec && !this.opts.delayMethod) throw new Error('no way to delay packets here (neither tc netem nor NFQUEUE)');
    if (this.opts.delayMethod === 'nfqueue') {
      if (spec) await this.startDelayers(spec);
      else await this.stopDelayers();
      return;
    }
    for (const n of this.nodes) {
      if (spec) {
        await inNetns(n.ns, 'tc', ['qdisc', 'replace', 'dev', NODE_INTERFACE, 'root', 'netem', 'delay', `${spec.delayMs}ms`, `${spec.jitterMs}ms`, 'distribution', 'normal']);
      } else if (this.delayed) {
        await run('ip', ['netns', 'exec', n.ns, 'tc', 'qdisc', 'del', 'dev', NODE_INTERFACE, 'root']);
      }
    }
    this.delayed = spec !== null;
  }

  private async startDelayers(spec: DelaySpec): Promise<void> {
    if (!NFQUEUE_DELAYER) throw new Error('scripts/chaos/nfqueue-delay.py not found');
    for (const n of this.nodes) {
      const child = spawn('nsenter', [`--net=/run/netns/${n.ns}`, 'python3', NFQUEUE_DELAYER, '--queue', '0', '--delay-ms', String(spec.delayMs), '--jitter-ms', String(spec.jitterMs), '--max-seconds', '900'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, [RUN_ENV]: this.opts.runId },
      });
      let started = false;
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('nfqueue-delay: queue')) started = true;
      });
      child.stderr!.on('data', (d: Buffer) => this.logs.get(n.id)?.write(`--- delayer: ${d.toString()}`));
      this.delayers.push(child);
      if (!(await waitUntil(() => started || child.exitCode !== null, 5000)) || !started) throw new Error(`the packet delayer in ${n.ns} did not start`);
      // --queue-bypass: should the delayer die, packets flow undelayed rather than stop
      await inNetns(n.ns, 'iptables', ['-w', '-A', DELAY_CHAIN, '-o', NODE_INTERFACE, '-j', 'NFQUEUE', '--queue-num', '0', '--queue-bypass']);
    }
  }

  private async stopDelayers(): Promise<void> {
    for (const n of this.nodes) await inNetns(n.ns, 'iptables', ['-w', '-F', DELAY_CHAIN]);
    const exits = this.delayers.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
    for (const c of this.delayers) c.kill('SIGTERM');
    await Promise.all(exits);
    this.delayers = [];
  }

  // ---- membership ------------------------------------------------------------------------------

  /**
   * one more node (the next id, its own namespace, address, disk, clock file and log) that joins the
   * running cluster with --join through every member; resolves once it answers /health
   */
  async join(): Promise<string> {
    if (!this.local || !this.localOptions) throw new Error('the cluster has not started');
    const index = Math.max(...this.nodes.map((n) => n.index)) + 1;
    const { spec, disk } = await this.prepareNode(index);
    const through = this.members().map((n) => n.local.spec);
    const local = await this.local.join(spec, this.localOptions, {}, through);
    this.nodes.push(this.chaosNode(index, disk, local));
    this.opts.onMembersChanged?.();
    return spec.id;
  }

  /** POST /cluster/leave to the node: it hands its partitions over and keeps serving until it has left */
  async leave(id: string): Promise<void> {
    const n = this.node(id);
    await postMembership(n.httpUrl, '/cluster/leave');
    n.membership = 'leaving';
  }

  /** waits until a leaving node is `left` and every member's ring settled without it, then stops it */
  async finishLeave(id: string): Promise<void> {
    const n = this.node(id);
    const observer = this.members()[0];
    await waitFor(`${id} left on ${observer.id}`, async () => {
      const status = (await readMembers(observer.httpUrl)).find((m) => m.id === id)?.status;
      return status === 'left' || `status ${status}`;
    }, SETTLE_TIMEOUT_MS);
    await this.waitSettled();
    n.membership = 'left';
    this.opts.onMembersChanged?.();
    await n.local.stop(5000);
    n.state = 'down';
  }

  /**
   * kill -9 of the node, then, once `via` sees it down, POST /cluster/remove/<id> through `via`: its
   * disk counts as lost, the surviving replicas rebuild its partitions
   */
  async remove(id: string, via: string): Promise<void> {
    const n = this.node(id);
    const through = this.node(via);
    await this.kill(id);
    n.membership = 'removed';
    this.opts.onMembersChanged?.();
    await waitFor(`${id} down on ${via}`, async () => {
      const status = (await readMembers(through.httpUrl)).find((m) => m.id === id)?.status;
      return status === 'down' || `status ${status}`;
    }, DOWN_TIMEOUT_MS);
    await postMembership(through.httpUrl, `/cluster/remove/${encodeURIComponent(id)}`);
  }

  /** waits until every member's ring has exactly the members and no transfer in flight */
  waitSettled(): Promise<void> {
    const members = this.members();
    return waitRingSettled(members.map((m) => m.httpUrl), members.map((m) => m.id), SETTLE_TIMEOUT_MS);
  }

  // ---- clocks and disks --------------------------------------------------------------------------

  /** moves a node's wall clock by offsetS seconds (libfaketime reads the file at most once a second) */
  setClockOffset(id: string, offsetS: number): void {
    if (!this.opts.faketimeLib) throw new Error('clock offsets need libfaketime (Debian package faketime)');
    writeFileSync(this.node(id).clockFile, `${offsetS >= 0 ? '+' : ''}${offsetS}\n`);
    if (offsetS === 0) this.offsets.delete(id);
    else this.offsets.set(id, offsetS);
  }

  fillDisk(id: string): number {
    this.filled.add(id);
    return fillDisk(this.node(id).disk);
  }

  freeDisk(id: string): void {
    freeDisk(this.node(id).disk);
    this.filled.delete(id);
  }

  /** kill -9, delete the data directory, start again: the node keeps its id but lost every replica */
  async wipe(id: string): Promise<void> {
    await this.kill(id);
    wipeDataDir(this.node(id).disk);
    await this.restart(id);
  }

  /** every lever back: no drops, loss or delay, true clocks, free disks, every member running */
  async healAll(): Promise<void> {
    await this.setDrops([]);
    await this.setLoss(0);
    await this.setDelay(null);
    for (const id of [...this.offsets.keys()]) this.setClockOffset(id, 0);
    for (const id of [...this.filled]) this.freeDisk(id);
    for (const n of this.nodes) if (n.state === 'paused') this.resume(n.id);
    await Promise.all(this.serving.filter((n) => !n.local.running).map((n) => this.restart(n.id)));
  }

  /** clean stop of every node (SIGTERM, SIGKILL after 5 s); namespaces and mounts are cleanupRun's */
  async stop(): Promise<void> {
    for (const n of this.nodes) if (n.state === 'paused') n.local.signal('SIGCONT');
    await this.local?.stop(5000);
    await Promise.all([...this.logs.values()].map((s) => new Promise<void>((r) => s.end(r))));
  }
}
