/**
 * Starts a cluster of real `ringkv start` processes on this machine and controls them: used by
 * `ringkv dev`, by the end-to-end tests (test/helpers) and by the HTTP benchmark. Each node is a
 * separate child process talking TCP to the others, exactly as in production.
 *
 * Children are started with RINGKV_EXIT_ON_STDIN_CLOSE=1 and a stdin pipe: if this process dies
 * without stopping them (a crashed test run), their stdin closes and they stop themselves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { flagName, offFlagName } from '../config/load.js';
import { formatPeerList } from '../config/peers.js';
import type { ConfigFieldName } from '../config/schema.js';
import { ensureClusterSecretFile } from './cluster-secret-file.js';

export interface LocalNodeSpec {
  id: string;
  host: string;
  httpPort: number;
  internalPort: number;
  /** 0 = RESP off */
  respPort: number;
  dataDir: string;
}

export interface PlanOptions {
  count: number;
  host?: string;
  /** node i (from 0) gets httpPorts[i], or httpBasePort + i */
  httpPorts: number[] | number;
  internalPorts: number[] | number;
  /** 0 turns RESP off on every node */
  respPorts: number[] | number;
  /** data of node n<i> goes to <baseDir>/n<i> */
  baseDir: string;
}

/** The node specs of a K-node local cluster: ids n1..nK, ports from lists or consecutive from a base. */
export function planLocalCluster(p: PlanOptions): LocalNodeSpec[] {
  const pick = (ports: number[] | number, i: number): number => (Array.isArray(ports) ? ports[i] : ports === 0 ? 0 : ports + i);
  return Array.from({ length: p.count }, (_, i) => ({
    id: `n${i + 1}`,
    host: p.host ?? '127.0.0.1',
    httpPort: pick(p.httpPorts, i),
    internalPort: pick(p.internalPorts, i),
    respPort: pick(p.respPorts, i),
    dataDir: join(p.baseDir, `n${i + 1}`),
  }));
}

export type Settings = Partial<Record<ConfigFieldName, string | number | boolean | undefined>>;

export interface LocalClusterOptions {
  nodes: LocalNodeSpec[];
  /** config given to every node as flags (engine, n, r, w, logLevel, ...) */
  settings?: Settings;
  /** config for one node on top of settings (e.g. its zone or weight) */
  nodeSettings?: (spec: LocalNodeSpec, index: number) => Settings;
  /** each line a node prints; default: dropped */
  onLog?: (nodeId: string, line: string, stream: 'stdout' | 'stderr') => void;
  /** a node process ended; expected = we asked it to */
  onExit?: (nodeId: string, code: number | null, signal: NodeJS.Signals | null, expected: boolean) => void;
  /** environment for the children @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * put each node in its own process group, so a terminal's Ctrl-C reaches only this process, which
   * then stops the nodes in order (used by `ringkv dev`) @default false
   */
  ownProcessGroup?: boolean;
  /** how long start() waits for every node's /health @default 20000 */
  startTimeoutMs?: number;
  /**
   * runs each node under a wrapper command with extra environment, e.g. `nsenter --net=…` into the
   * node's own network namespace (the fault harness, src/chaos) @default none
   */
  launcher?: (spec: LocalNodeSpec) => { command: string; args: string[]; env?: NodeJS.ProcessEnv };
  /** extra options for each node's `node` process, before the script (e.g. --cpu-prof) @default none */
  nodeArgs?: (spec: LocalNodeSpec) => string[];
  /**
   * the cluster secret file every node is given (--cluster-secret-file), created with a random secret
   * when missing @default "cluster-secret" beside the first node's data directory (ringkv dev: <base-dir>/cluster-secret)
   */
  clusterSecretFile?: string;
  /**
   * the compiled CLI (main.js) the nodes run, e.g. another build's, to compare versions on one
   * harness (bench:partition-heal --node-cli) @default this build's
   */
  cli?: string;
}

/**
 * `ringkv start`'s flags for one node: its addresses and data directory, how it finds the cluster
 * (`--peers …` or `--join …`), the shared secret file (made when missing; settings that name a secret
 * of their own win), then its settings
 */
function nodeFlags(spec: LocalNodeSpec, opts: LocalClusterOptions, settings: Settings, membership: string[]): string[] {
  const ownSecret = settings.clusterSecret !== undefined || settings.clusterSecretFile !== undefined;
  return [
    '--node-id', spec.id,
    '--host', spec.host,
    '--http-port', String(spec.httpPort),
    '--internal-port', String(spec.internalPort),
    '--resp-port', String(spec.respPort),
    '--data-dir', spec.dataDir,
    ...membership,
    ...(ownSecret ? [] : ['--cluster-secret-file', secretFileOf(opts)]),
    ...settingFlags(settings),
  ];
}

export function secretFileOf(opts: Pick<LocalClusterOptions, 'clusterSecretFile' | 'nodes'>): string {
  const path = opts.clusterSecretFile ?? join(dirname(opts.nodes[0].dataDir), 'cluster-secret');
  ensureClusterSecretFile(path);
  return path;
}

/** How to run the CLI: compiled main.js beside this file, or main.ts through tsx when run from source. */
function cliCommand(cli?: string): { execPath: string; args: string[] } {
  if (cli !== undefined) return { execPath: process.execPath, args: [cli] };
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return { execPath: process.execPath, args: ['--import', 'tsx', join(here, '..', 'main.ts')] };
  return { execPath: process.execPath, args: [join(here, '..', 'main.js')] };
}

const LOG_TAIL_LINES = 40;

export class LocalNode {
  readonly spec: LocalNodeSpec;
  private child: ChildProcess | undefined;
  private exitPromise: Promise<void> | undefined;
  private expectingExit = false;
  private readonly tail: string[] = [];

  constructor(
    spec: LocalNodeSpec,
    private readonly flags: string[],
    private readonly opts: LocalClusterOptions,
  ) {
    this.spec = spec;
  }

  get id(): string {
    return this.spec.id;
  }

  get httpUrl(): string {
    return `http://${this.spec.host}:${this.spec.httpPort}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** the last lines the node printed, for error messages */
  logTail(): string {
    return this.tail.join('\n');
  }

  /** spawns the process (does not wait for it to be ready: see waitHealthy) */
  spawn(): void {
    if (this.child) throw new Error(`${this.id} is already running`);
    const { execPath, args } = cliCommand(this.opts.cli);
    const launch = this.opts.launcher?.(this.spec);
    const command = launch ? launch.command : execPath;
    const nodeArgs = this.opts.nodeArgs?.(this.spec) ?? [];
    const commandArgs = [...(launch ? [...launch.args, execPath] : []), ...nodeArgs, ...args, 'start', ...this.flags];
    const child = spawn(command, commandArgs, {
      env: { ...(this.opts.env ?? process.env), ...launch?.env, RINGKV_EXIT_ON_STDIN_CLOSE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: this.opts.ownProcessGroup ?? false,
    });
    this.child = child;
    this.expectingExit = false;
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]!, crlfDelay: Infinity }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > LOG_TAIL_LINES) this.tail.shift();
        this.opts.onLog?.(this.id, line, stream);
      });
    }
    child.stdin!.on('error', () => {}); // the child may be gone already
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        this.opts.onExit?.(this.id, code, signal, this.expectingExit);
        resolve();
      });
      child.once('error', (err) => {
        this.tail.push(`spawn failed: ${err.message}`);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
  }

  /** resolves once GET /health answers 200; rejects if the process exits or the time runs out */
  async waitHealthy(timeoutMs = this.opts.startTimeoutMs ?? 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.child) throw new Error(`${this.id} exited while starting; its last output:\n${this.logTail()}`);
      try {
        const res = await fetch(`${this.httpUrl}/health`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.id} did not become healthy within ${timeoutMs} ms; its last output:\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** sends a signal and waits for the process to end (SIGKILL: a crash, no clean stop) */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    child.kill(signal);
    await this.exitPromise;
  }

  /** sends a signal without waiting for anything (SIGSTOP / SIGCONT to pause and resume the node) */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** SIGTERM (clean stop), then SIGKILL if it has not exited after graceMs */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  /** spawn again and wait until healthy */
  async restart(): Promise<void> {
    await this.stop();
    this.spawn();
    await this.waitHealthy();
  }
}

export class LocalCluster {
  readonly nodes: LocalNode[];

  private constructor(nodes: LocalNode[]) {
    this.nodes = nodes;
  }

  /** Spawns every node and waits until all are healthy; on failure stops them all and throws. */
  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const cluster = LocalCluster.create(opts);
    for (const node of cluster.nodes) node.spawn();
    try {
      await Promise.all(cluster.nodes.map((n) => n.waitHealthy()));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /**
   * Adds a node that joins the running cluster (`--join` through the internode addresses of `through`,
   * by default the first node) instead of being on the peer list, spawns it and waits until it is healthy.
   */
  async join(spec: LocalNodeSpec, opts: LocalClusterOptions, settings: Settings = {}, through: LocalNodeSpec[] = [this.nodes[0].spec]): Promise<LocalNode> {
    const flags = nodeFlags(spec, opts, { ...opts.settings, ...settings }, ['--join', through.map((s) => `${s.host}:${s.internalPort}`).join(',')]);
    const node = new LocalNode(spec, flags, opts);
    this.nodes.push(node);
    node.spawn();
    await node.waitHealthy();
    return node;
  }

  /** Builds the nodes without spawning them. */
  static create(opts: LocalClusterOptions): LocalCluster {
    const perNode = opts.nodes.map((spec, index) => ({ ...opts.settings, ...opts.nodeSettings?.(spec, index) }));
    // every node must see the same member table (zones and weights shape the ring), so a node's own
    // zone and weight go into the peer list everyone gets
    const peers = formatPeerList(
      opts.nodes.map((s, i) => ({
        id: s.id,
        address: `${s.host}:${s.internalPort}`,
        httpAddress: `${s.host}:${s.httpPort}`,
        ...(perNode[i].zone !== undefined ? { zone: String(perNode[i].zone) } : {}),
        ...(perNode[i].weight !== undefined ? { weight: Number(perNode[i].weight) } : {}),
      })),
    );
    const nodes = opts.nodes.map((spec, index) => new LocalNode(spec, nodeFlags(spec, opts, perNode[index], ['--peers', peers]), opts));
    return new LocalCluster(nodes);
  }

  node(id: string): LocalNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id} in this cluster`);
    return node;
  }

  get httpUrls(): string[] {
    return this.nodes.map((n) => n.httpUrl);
  }

  /** stops every node (SIGTERM, then SIGKILL after graceMs) */
  async stop(graceMs = 5000): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(graceMs)));
  }
}

/**
 * settings as command-line flags; boolean fields are bare flags (commander takes no value for them):
 * true gives --x, false gives --no-x for a switch that is on by default (and nothing for one that is off)
 */
export function settingFlags(settings: Settings): string[] {
  const flags: string[] = [];
  for (const [field, value] of Object.entries(settings)) {
    const name = field as ConfigFieldName;
    if (value === undefined) continue;
    if (value === false) {
      const off = offFlagName(name);
      if (off !== undefined) flags.push(off);
      continue;
    }
    flags.push(...(value === true ? [flagName(name)] : [flagName(name), String(value)]));
  }
  return flags;
}

/** true when the compiled CLI (or the source under tsx) is there to spawn */
export function cliAvailable(): boolean {
  const { args } = cliCommand();
  return existsSync(args[args.length - 1]);
}
