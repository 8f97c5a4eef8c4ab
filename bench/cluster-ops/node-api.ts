/**
 * What the cluster-operations benchmark reads from a node over HTTP: the member table, the ring, the
 * typed status and the Prometheus metrics — each request bounded in time.
 */
import type { Target } from '../kit.js';

const REQUEST_TIMEOUT_MS = 5000;

export function baseUrl(t: Target): string {
  return `http://${t.host}:${t.port}`;
}

export async function getJson<T>(t: Target, path: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
  const res = await fetch(baseUrl(t) + path, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path} on ${t.port}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

export async function post(t: Target, path: string): Promise<unknown> {
  const res = await fetch(baseUrl(t) + path, { method: 'POST', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path} on ${t.port}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text === '' ? undefined : JSON.parse(text);
}

export interface MemberView {
  id: string;
  status: string;
  phi: number | null;
  incarnation: number | null;
}

export interface RingPartition {
  partition: number;
  owner: string;
  /** the N primaries */
  preferenceList: string[];
}

export interface RingView {
  Q: number;
  N: number;
  epoch: number;
  members: string[];
  partitions: RingPartition[];
  pending: unknown[];
}

export const members = (t: Target, timeoutMs?: number): Promise<MemberView[]> => getJson<MemberView[]>(t, '/cluster/members', timeoutMs);
export const ring = (t: Target): Promise<RingView> => getJson<RingView>(t, '/cluster/ring');

/** the parts of /cluster/status the benchmark follows */
export interface StatusView {
  uptimeMs: number;
  storage: { keys: number | null; bytesOnDisk: number | null };
  antiEntropy?: {
    keysPulled: number;
    keysPushed: number;
    bytesSent: number;
    bytesReceived: number;
    fullRepair: { done: number; total: number };
    operatorRepair: { id: number; running: boolean; startedAtMs: number; finishedAtMs: number | null; keysPulled: number; keysPushed: number; exchanges: number; exchangesFailed: number; error: string | null } | null;
  };
  transfers?: { inbound: Array<{ partition: number; phase: string; objects: number; bytes: number; stalled: boolean; lastError?: string }> };
  hints?: { pendingCount: number; deliveredTotal: number; droppedTotal: number; replayedPerSec: number };
}

export const status = (t: Target): Promise<StatusView> => getJson<StatusView>(t, '/cluster/status');

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format: one sample per line that is not a comment */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

export async function scrape(t: Target): Promise<Sample[]> {
  const res = await fetch(`${baseUrl(t)}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return parsePrometheus(await res.text());
}

/** the sum of a metric's samples whose labels include `where` */
export function metric(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) if (s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  return sum;
}

/** one metric summed over several nodes */
export async function metricOver(targets: Target[], name: string, where: Record<string, string> = {}): Promise<number> {
  const all = await Promise.all(targets.map(scrape));
  return all.reduce((sum, samples) => sum + metric(samples, name, where), 0);
}
