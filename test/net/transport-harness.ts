/** Shared helpers for the TCP transport tests: small clusters of transports on 127.0.0.1. */
import { TcpTransport, type TcpTransportOptions } from '../../src/net/tcp-transport.js';
import type { Logger, Message } from '../../src/cluster/runtime.js';

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

export function recordingLogger(): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    records,
    debug: (obj, msg) => records.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => records.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => records.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => records.push({ level: 'error', obj, msg }),
  };
}

/** the secret the test transports share (a transport with another one is an outsider) */
export const TEST_SECRET = Buffer.from('ringkv-test-cluster-secret');

/** A set of transports that find each other through a shared id → port map. */
export class TestCluster {
  readonly ports = new Map<string, number>();
  readonly transports = new Map<string, TcpTransport>();

  constructor(private readonly defaults: Partial<TcpTransportOptions> = {}) {}

  resolvePeer = (id: string): { host: string; port: number } | undefined => {
    const port = this.ports.get(id);
    return port === undefined ? undefined : { host: '127.0.0.1', port };
  };

  async start(id: string, options: Partial<TcpTransportOptions> = {}): Promise<TcpTransport> {
    const transport = new TcpTransport({
      self: id,
      clusterSecret: TEST_SECRET,
      listenHost: '127.0.0.1',
      listenPort: 0,
      resolvePeer: this.resolvePeer,
      reconnectBackoff: { initialMs: 20, maxMs: 200 },
      ...this.defaults,
      ...options,
    });
    await transport.listen();
    this.ports.set(id, transport.port);
    this.transports.set(id, transport);
    transport.onRequest(echoHandler);
    return transport;
  }

  get(id: string): TcpTransport {
    const t = this.transports.get(id);
    if (!t) throw new Error(`no transport ${id}`);
    return t;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
  }
}

/** Replies with who asked and what they sent; `hang` never answers. */
export async function echoHandler(from: string, msg: Message): Promise<Message> {
  if (msg.type === 'hang') return new Promise<Message>(() => {});
  return { type: 'echo_ok', from, n: msg.n, payload: msg.payload };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** polls cond until true; fails after timeoutMs */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
