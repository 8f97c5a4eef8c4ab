/**
 * Real local clusters for end-to-end tests: K `ringkv start` processes on free ports (never the dev
 * ports, so tests do not collide with a running `npm start`), data in a fresh temp dir, logs kept
 * quietly and shown when something fails (or always with RINGKV_TEST_LOGS=1).
 *
 *   const cluster = await startTestCluster({ nodes: 3 });
 *   after(() => cluster.stop());           // always: kills the processes and removes the temp dir
 *   const client = cluster.client();        // a RingkvClient over every node
 *   await cluster.node('n2').kill();        // SIGKILL one node; .restart() brings it back
 *
 * Needs the compiled CLI (dist/src/cli/main.js), i.e. run from dist after `npm run build`, or the
 * sources under tsx.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../src/cli/free-port.js';
import { LocalCluster, planLocalCluster, type LocalNode, type LocalNodeSpec, type Settings } from '../../src/cli/local-cluster.js';
import { formatLogLine } from '../../src/cli/log-format.js';
export { waitFor } from './wait.js';
import { RingkvClient } from '../../src/client/ringkv-client.js';

export interface TestClusterOptions {
  /** @default 3 */
  nodes?: number;
  /** config for every node, e.g. { n: 3, r: 2, w: 2, engine: 'memory' } @default { engine: 'memory', logLevel: 'warn' } */
  settings?: Settings;
  /** config for one node on top of settings, e.g. (spec, i) => ({ zone: `z${i % 2}` }) */
  nodeSettings?: (spec: LocalNodeSpec, index: number) => Settings;
  /** give each node a RESP port too @default false */
  resp?: boolean;
  /** @default 20000 */
  startTimeoutMs?: number;
}

export interface TestCluster {
  readonly cluster: LocalCluster;
  readonly nodes: LocalNode[];
  readonly baseDir: string;
  node(id: string): LocalNode;
  /** a client over the given nodes (default: all) */
  client(...ids: string[]): RingkvClient;
  /** recent log lines of every node, for assertion messages */
  logs(): string;
  /** starts one more node that joins the running cluster with --join (ids n<K+1>, …) */
  join(settings?: Settings): Promise<LocalNode>;
  /** stops every node and removes the temp dir; safe to call twice */
  stop(): Promise<void>;
}

const showLogs = process.env.RINGKV_TEST_LOGS === '1';

export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const count = opts.nodes ?? 3;
  const ports = await freePorts(count * (opts.resp ? 3 : 2));
  const baseDir = mkdtempSync(join(tmpdir(), 'ringkv-e2e-'));
  const specs = planLocalCluster({
    count,
    httpPorts: ports.slice(0, count),
    internalPorts: ports.slice(count, 2 * count),
    respPorts: opts.resp ? ports.slice(2 * count, 3 * count) : 0,
    baseDir,
  });
  const recent: string[] = [];
  const settings: Settings = { engine: 'memory', logLevel: 'warn', ...opts.settings };
  let cluster: LocalCluster;
  const clusterOptions = {
    nodes: specs,
    settings,
    ...(opts.nodeSettings ? { nodeSettings: opts.nodeSettings } : {}),
    startTimeoutMs: opts.startTimeoutMs ?? 20_000,
    onLog: (id: string, line: string) => {
      const text = `${id} | ${formatLogLine(line)}`;
      recent.push(text);
      if (recent.length > 200) recent.shift();
      if (showLogs) process.stderr.write(`${text}\n`);
    },
    onExit: (id: string, code: number | null, signal: NodeJS.Signals | null, expected: boolean) => {
      if (!expected) process.stderr.write(`[test cluster] ${id} exited unexpectedly (code ${code}, signal ${signal})\n`);
    },
  };
  try {
    cluster = await LocalCluster.start(clusterOptions);
  } catch (e) {
    rmSync(baseDir, { recursive: true, force: true });
    throw e;
  }
  let stopped: Promise<void> | undefined;
  return {
    cluster,
    nodes: cluster.nodes,
    baseDir,
    node: (id) => cluster.node(id),
    client: (...ids) => new RingkvClient({ url: (ids.length > 0 ? ids.map((id) => cluster.node(id)) : cluster.nodes).map((n) => n.httpUrl), timeoutMs: 15_000 }),
    logs: () => recent.join('\n'),
    join: async (extra: Settings = {}) => {
      const [httpPort, internalPort, respPort] = await freePorts(opts.resp ? 3 : 2);
      const id = `n${cluster.nodes.length + 1}`;
      const spec: LocalNodeSpec = { id, host: '127.0.0.1', httpPort, internalPort, respPort: opts.resp ? respPort : 0, dataDir: join(baseDir, id) };
      return cluster.join(spec, clusterOptions, extra);
    },
    stop: () => {
      stopped ??= (async () => {
        await cluster.stop(3000);
        rmSync(baseDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}


/** A raw HTTP request to a node, for asserting statuses and headers the client hides. */
export async function http(
  baseUrl: string,
  method: string,
  path: string,
  opts: { body?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; bytes: Buffer; json: () => any }> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: opts.headers ?? {},
    ...(opts.body !== undefined ? { body: opts.body as unknown as BodyInit } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  return { status: res.status, headers: res.headers, text, bytes, json: () => JSON.parse(text) };
}
