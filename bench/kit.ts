/** What the cluster benchmarks share: a local cluster of real node processes, and keep-alive HTTP requests to it. */
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../src/cli/free-port.js';
import { LocalCluster, planLocalCluster, type Settings } from '../src/cli/local-cluster.js';

export interface Target {
  host: string;
  port: number;
  agent: Agent;
}

/** one request; resolves with the status code (and the body when asked) */
export function once(target: Target, method: 'PUT' | 'GET', path: string, body: Buffer | undefined): Promise<number>;
export function once(target: Target, method: 'PUT' | 'GET', path: string, body: Buffer | undefined, withBody: true): Promise<{ status: number; body: Buffer }>;
export function once(target: Target, method: 'PUT' | 'GET', path: string, body: Buffer | undefined, withBody = false): Promise<number | { status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.host, port: target.port, method, path, agent: target.agent, headers: body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => withBody && chunks.push(c));
        res.on('end', () => resolve(withBody ? { status: res.statusCode ?? 0, body: Buffer.concat(chunks) } : (res.statusCode ?? 0)));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export interface BenchCluster {
  cluster: LocalCluster;
  targets: Target[];
  stop(): Promise<void>;
}

/** K node processes on free ports with data in a temp dir; errors and non-JSON output of the nodes are shown */
export async function startBenchCluster(nodes: number, settings: Settings, socketsPerNode: number): Promise<BenchCluster> {
  const ports = await freePorts(nodes * 2);
  const baseDir = mkdtempSync(join(tmpdir(), 'ringkv-bench-'));
  const cluster = await LocalCluster.start({
    nodes: planLocalCluster({ count: nodes, httpPorts: ports.slice(0, nodes), internalPorts: ports.slice(nodes), respPorts: 0, baseDir }),
    settings: { logLevel: 'warn', ...settings },
    onLog: (id, line) => {
      if (line.includes('"level":50') || line.includes('"level":60') || !line.startsWith('{')) process.stdout.write(`  ${id} | ${line}\n`);
    },
    onExit: (id, code, signal, expected) => {
      if (!expected) process.stdout.write(`  ${id} exited unexpectedly (code ${code}, signal ${signal})\n`);
    },
  });
  const targets: Target[] = cluster.nodes.map((node) => ({ host: node.spec.host, port: node.spec.httpPort, agent: new Agent({ keepAlive: true, maxSockets: socketsPerNode }) }));
  return {
    cluster,
    targets,
    stop: async () => {
      for (const t of targets) t.agent.destroy();
      await cluster.stop();
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
