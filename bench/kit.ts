/** What the cluster benchmarks share: a local cluster of real node processes, and keep-alive HTTP requests to it. */
import { Agent, request as request_, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../src/cli/free-port.js';
import { LocalCluster, planLocalCluster, type LocalClusterOptions, type LocalNode, type Settings } from '../src/cli/local-cluster.js';

export interface Target {
  host: string;
  port: number;
  agent: Agent;
}

export interface RequestSpec {
  method: 'PUT' | 'GET' | 'DELETE' | 'POST';
  path: string;
  body?: Buffer;
  headers?: Record<string, string>;
  /** false: the body is read and dropped (the answer's body is empty) @default true */
  keepBody?: boolean;
}

/** one request over the target's keep-alive agent; resolves with the status, headers and body */
export function request(target: Target, spec: RequestSpec): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...spec.headers, ...(spec.body ? { 'content-type': 'application/octet-stream', 'content-length': spec.body.length } : {}) };
    const req = request_({ host: target.host, port: target.port, method: spec.method, path: spec.path, agent: target.agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => spec.keepBody !== false && chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(spec.body);
  });
}

/**
 * One request; resolves with the status code (and the body when asked). With `giveUpAtMs`
 * (performance.now() time), a request still waiting for a connection of the agent's pool then is
 * dropped (rejects with an error named ClientTimeout): it never reached the server. One already sent
 * is left to finish (aborting it would cost its connection).
 */
export function once(target: Target, method: 'PUT' | 'GET', path: string, body: Buffer | undefined, withBody?: false, giveUpAtMs?: number): Promise<number>;
export function once(target: Target, method: 'PUT' | 'GET', path: string, body: Buffer | undefined, withBody: true): Promise<{ status: number; body: Buffer }>;
export function once(target: Target, method: 'PUT' | 'GET', path: string, body: Buffer | undefined, withBody = false, giveUpAtMs?: number): Promise<number | { status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request_(
      { host: target.host, port: target.port, method, path, agent: target.agent, headers: body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => withBody && chunks.push(c));
        res.on('end', () => resolve(withBody ? { status: res.statusCode ?? 0, body: Buffer.concat(chunks) } : (res.statusCode ?? 0)));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (giveUpAtMs !== undefined) {
      const timer = setTimeout(() => {
        if (req.socket) return;
        const err = new Error('gave up waiting for a connection');
        err.name = 'ClientTimeout';
        req.destroy(err);
      }, Math.max(0, giveUpAtMs - performance.now()));
      req.once('socket', () => clearTimeout(timer));
      req.once('close', () => clearTimeout(timer));
    }
    req.end(body);
  });
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export interface BenchCluster {
  cluster: LocalCluster;
  /** one per node, in the order of cluster.nodes (a joined node's is added) */
  targets: Target[];
  /** where the nodes' data directories are (<baseDir>/<node id>; removed by stop) */
  baseDir: string;
  /** starts one more node (id n<K+1>) that joins the running cluster with --join, and adds its target */
  join(settings?: Settings): Promise<{ node: LocalNode; target: Target }>;
  /** stops the nodes (waiting up to graceMs for each) and removes the data */
  stop(graceMs?: number): Promise<void>;
}

export interface BenchClusterOptions {
  /** extra `node` options per node process, given the node's directory (e.g. --cpu-prof) */
  nodeArgs?: (nodeId: string, baseDir: string) => string[];
}

/** K node processes on free ports with data in a temp dir; errors and non-JSON output of the nodes are shown */
export async function startBenchCluster(nodes: number, settings: Settings, socketsPerNode: number, options: BenchClusterOptions = {}): Promise<BenchCluster> {
  const ports = await freePorts(nodes * 2);
  const baseDir = mkdtempSync(join(tmpdir(), 'ringkv-bench-'));
  const nodeArgs = options.nodeArgs;
  const clusterOptions: LocalClusterOptions = {
    nodes: planLocalCluster({ count: nodes, httpPorts: ports.slice(0, nodes), internalPorts: ports.slice(nodes), respPorts: 0, baseDir }),
    settings: { logLevel: 'warn', ...settings },
    ...(nodeArgs !== undefined ? { nodeArgs: (spec) => nodeArgs(spec.id, baseDir) } : {}),
    onLog: (id, line) => {
      if (line.includes('"level":50') || line.includes('"level":60') || !line.startsWith('{')) process.stdout.write(`  ${id} | ${line}\n`);
    },
    onExit: (id, code, signal, expected) => {
      if (!expected) process.stdout.write(`  ${id} exited unexpectedly (code ${code}, signal ${signal})\n`);
    },
  };
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start(clusterOptions);
  } catch (e) {
    rmSync(baseDir, { recursive: true, force: true });
    throw e;
  }
  const targetOf = (node: LocalNode): Target => ({ host: node.spec.host, port: node.spec.httpPort, agent: new Agent({ keepAlive: true, maxSockets: socketsPerNode }) });
  const targets: Target[] = cluster.nodes.map(targetOf);
  return {
    cluster,
    targets,
    baseDir,
    join: async (extra: Settings = {}) => {
      const [httpPort, internalPort] = await freePorts(2);
      const id = `n${cluster.nodes.length + 1}`;
      const node = await cluster.join({ id, host: '127.0.0.1', httpPort, internalPort, respPort: 0, dataDir: join(baseDir, id) }, clusterOptions, extra);
      const target = targetOf(node);
      targets.push(target);
      return { node, target };
    },
    stop: async (graceMs?: number) => {
      for (const t of targets) t.agent.destroy();
      await cluster.stop(graceMs);
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
