/**
 * A small client for the ringkv HTTP API over node:http (see http-request.ts for why not fetch). Give it one node's URL or several:
 * requests rotate over the nodes (any node coordinates any key) and move on to the next node when
 * one cannot be reached. Every error the server sends arrives as a RingkvClientError with the
 * server's code, message and status.
 */
import type { ReadOptions, WriteOptions } from '../cluster/kv-service.js';
import { headerOf, httpRequest, type HttpResponse } from './http-request.js';
import type { ClusterOverview } from '../ops/cluster-watcher.js';
import type { NodeStatus } from '../ops/node-status.js';
import type { OperatorRepair } from '../ops/repair-tracker.js';
import { encodeKeyForPath } from './key-path.js';

export interface RingkvClientOptions {
  /** e.g. 'http://127.0.0.1:8001', or several nodes */
  url: string | string[];
  /** client-side limit on each request, including the server's own timeout @default 10000 */
  timeoutMs?: number;
  /** sent as `Authorization: Bearer <password>` */
  password?: string;
}

/** r / w / timeoutMs / context: the same options a node's coordinator takes (src/cluster/kv-service.ts). */
export type GetOptions = ReadOptions;
export type { WriteOptions };

export interface GetResponse {
  /** false when no live value exists (never written, or deleted) */
  found: boolean;
  /** the live values: one normally, several when writes were concurrent (siblings) */
  siblings: Uint8Array[];
  /** pass it back on the next write of this key ('' when nothing ever existed) */
  context: string;
}

export class RingkvClientError extends Error {
  constructor(
    /** the server's error code (e.g. QUORUM_NOT_MET), or UNREACHABLE when no node answered */
    readonly code: string,
    message: string,
    /** HTTP status; 0 when no node answered */
    readonly status: number,
  ) {
    super(message);
    this.name = 'RingkvClientError';
  }
}

const CONTEXT_HEADER = 'x-ringkv-context';
const WRITE_ID_HEADER = 'x-ringkv-write-id';

/**
 * The headers every write sends: the context it supersedes and a write id — the caller's, or a fresh
 * one — so that when an attempt times out and the client moves to the next node, the cluster applies
 * the write once.
 */
function writeHeaders(opts: WriteOptions, base: Record<string, string> = {}): Record<string, string> {
  if (opts.context) base[CONTEXT_HEADER] = opts.context;
  base[WRITE_ID_HEADER] = opts.writeId ?? globalThis.crypto.randomUUID();
  return base;
}

export class RingkvClient {
  private readonly urls: string[];
  private readonly timeoutMs: number;
  private readonly authorization: string | undefined;
  private next = 0;

  constructor(opts: RingkvClientOptions) {
    this.urls = (Array.isArray(opts.url) ? opts.url : [opts.url]).map((u) => u.replace(/\/+$/, ''));
    if (this.urls.length === 0) throw new Error('RingkvClient needs at least one node URL');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.authorization = opts.password === undefined ? undefined : `Bearer ${opts.password}`;
  }

  async get(key: string | Uint8Array, opts: GetOptions = {}): Promise<GetResponse> {
    const res = await this.request('GET', kvPath(key, { r: opts.r, timeout_ms: opts.timeoutMs }), {});
    const context = headerOf(res, CONTEXT_HEADER);
    if (res.status === 200) return { found: true, siblings: [new Uint8Array(res.body)], context };
    if (res.status === 300) {
      const body = JSON.parse(res.body.toString('utf8')) as { context: string; siblings: { value: string }[] };
      return { found: true, siblings: body.siblings.map((s) => new Uint8Array(Buffer.from(s.value, 'base64'))), context: body.context };
    }
    if (res.status === 404) {
      const error = errorOf(res);
      if (error.code === 'NOT_FOUND') return { found: false, siblings: [], context };
      throw error;
    }
    throw errorOf(res);
  }

  async put(key: string | Uint8Array, value: string | Uint8Array, opts: WriteOptions = {}): Promise<{ context: string }> {
    const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const headers = writeHeaders(opts, { 'content-type': 'application/octet-stream' });
    const res = await this.request('PUT', kvPath(key, { w: opts.w, timeout_ms: opts.timeoutMs }), headers, body);
    if (res.status !== 204) throw errorOf(res);
    return { context: headerOf(res, CONTEXT_HEADER) };
  }

  async delete(key: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
    const headers = writeHeaders(opts);
    const res = await this.request('DELETE', kvPath(key, { w: opts.w, timeout_ms: opts.timeoutMs }), headers);
    if (res.status !== 204) throw errorOf(res);
  }

  async health(): Promise<{ node: string; status: string }> {
    return this.json('/health');
  }

  async members(): Promise<Record<string, unknown>[]> {
    return this.json('/cluster/members');
  }

  async ring(): Promise<Record<string, any>> {
    return this.json('/cluster/ring');
  }

  /** an administrative POST (membership changes): resolves with the JSON answer of a 2xx */
  async admin(method: 'POST', path: string): Promise<unknown> {
    const res = await this.request(method, path, {});
    if (res.status < 200 || res.status > 299) throw errorOf(res);
    return res.body.length ? JSON.parse(res.body.toString('utf8')) : undefined;
  }

  /** GET /cluster/status: the node's typed status (seriesSeconds adds per-second history) */
  async status(seriesSeconds?: number): Promise<NodeStatus> {
    return this.json(`/cluster/status${seriesSeconds !== undefined ? `?series=${seriesSeconds}` : ''}`);
  }

  /** GET /cluster/overview: every member's status as the node sees them */
  async overview(seriesSeconds?: number): Promise<ClusterOverview> {
    return this.json(`/cluster/overview${seriesSeconds !== undefined ? `?series=${seriesSeconds}` : ''}`);
  }

  /** POST /cluster/repair: starts an anti-entropy exchange of every partition the node replicates (or one) */
  async repair(partition?: number): Promise<{ repair: OperatorRepair; alreadyRunning: boolean }> {
    const res = await this.request('POST', `/cluster/repair${partition !== undefined ? `?partition=${partition}` : ''}`, {});
    if (res.status !== 202) throw errorOf(res);
    return JSON.parse(res.body.toString('utf8')) as { repair: OperatorRepair; alreadyRunning: boolean };
  }

  private async json<T>(path: string): Promise<T> {
    const res = await this.request('GET', path, {});
    if (res.status !== 200) throw errorOf(res);
    return JSON.parse(res.body.toString('utf8')) as T;
  }

  /** Tries each node once, starting with the next in rotation, until one answers at all. */
  private async request(method: string, path: string, headers: Record<string, string>, body?: Uint8Array): Promise<HttpResponse> {
    if (this.authorization) headers.authorization = this.authorization;
    const start = this.next;
    this.next = (this.next + 1) % this.urls.length;
    let lastError: unknown;
    for (let i = 0; i < this.urls.length; i++) {
      const url = this.urls[(start + i) % this.urls.length];
      try {
        return await httpRequest(url, { method, path, headers, ...(body ? { body } : {}), timeoutMs: this.timeoutMs });
      } catch (e) {
        lastError = e;
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new RingkvClientError('UNREACHABLE', `no node answered ${method} ${path} (${this.urls.join(', ')}): ${reason}`, 0);
  }
}

function kvPath(key: string | Uint8Array, query: Record<string, number | undefined>): string {
  const params = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return `/kv/${encodeKeyForPath(key)}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}

function errorOf(res: HttpResponse): RingkvClientError {
  const text = res.body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code) return new RingkvClientError(parsed.error.code, parsed.error.message ?? '', res.status);
  } catch {
    // not our JSON shape: fall through
  }
  return new RingkvClientError(`HTTP_${res.status}`, text.slice(0, 200) || `HTTP ${res.status}`, res.status);
}
