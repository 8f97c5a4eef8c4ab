/**
 * What the membership nemeses wait on: each live node's view of the ring (`GET /cluster/ring`) and
 * of the member table (`GET /cluster/members`). A membership change has settled when every live node
 * shows the same epoch, the expected member set and no transfer in flight.
 */
import { httpRequest } from '../client/http-request.js';
import { waitUntil } from './sys.js';

export interface RingSummary {
  epoch: number;
  members: string[];
  /** partition transfers in flight */
  pending: number;
}

export interface MemberRow {
  id: string;
  status: string;
}

const POLL_MS = 250;
const REQUEST_TIMEOUT_MS = 2000;

async function getJson(httpUrl: string, path: string): Promise<unknown> {
  const res = await httpRequest(httpUrl, { method: 'GET', path, timeoutMs: REQUEST_TIMEOUT_MS });
  if (res.status !== 200) throw new Error(`GET ${path} on ${httpUrl} answered ${res.status}`);
  return JSON.parse(res.body.toString('utf8'));
}

export async function readRing(httpUrl: string): Promise<RingSummary> {
  const r = (await getJson(httpUrl, '/cluster/ring')) as { epoch: number; members: string[]; pending?: unknown[] };
  return { epoch: r.epoch, members: r.members, pending: r.pending?.length ?? 0 };
}

export async function readMembers(httpUrl: string): Promise<MemberRow[]> {
  return (await getJson(httpUrl, '/cluster/members')) as MemberRow[];
}

/** POST a membership change (202 expected) */
export async function postMembership(httpUrl: string, path: string): Promise<void> {
  const res = await httpRequest(httpUrl, { method: 'POST', path, timeoutMs: REQUEST_TIMEOUT_MS });
  if (res.status !== 202) throw new Error(`POST ${path} on ${httpUrl} answered ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
}

/**
 * true when every view is of one epoch, with exactly the expected members and nothing pending
 * (a view that could not be read is undefined and never settled)
 */
export function ringSettled(views: Array<RingSummary | undefined>, expectedMembers: readonly string[]): boolean {
  if (views.length === 0) return false;
  const want = [...expectedMembers].sort().join(',');
  return views.every((v) => v !== undefined && v.pending === 0 && v.epoch === views[0]!.epoch && [...v.members].sort().join(',') === want);
}

/** polls until cond() is true; throws with what was last seen when timeoutMs runs out */
export async function waitFor(what: string, cond: () => Promise<boolean | string>, timeoutMs: number): Promise<void> {
  let last = '';
  const ok = await waitUntil(async () => {
    try {
      const r = await cond();
      if (typeof r === 'string') last = r;
      return r === true;
    } catch (e) {
      last = (e as Error).message;
      return false;
    }
  }, timeoutMs, POLL_MS);
  if (!ok) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last seen: ${last})` : ''}`);
}

/** waits until every one of the nodes shows the ring settled with exactly `expectedMembers` */
export async function waitRingSettled(httpUrls: string[], expectedMembers: readonly string[], timeoutMs: number): Promise<void> {
  await waitFor(`the ring to settle with ${[...expectedMembers].sort().join(',')}`, async () => {
    const views = await Promise.all(httpUrls.map((u) => readRing(u).catch(() => undefined)));
    if (ringSettled(views, expectedMembers)) return true;
    return views.map((v, i) => (v ? `${httpUrls[i]}: epoch ${v.epoch} members ${v.members.join(',')} pending ${v.pending}` : `${httpUrls[i]}: unreadable`)).join('; ');
  }, timeoutMs);
}
