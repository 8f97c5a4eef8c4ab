/**
 * How a client-side result becomes ok / fail / unknown. A write that may have reached a node and did
 * not get a definite answer is unknown, never fail: a 5xx on a write may have been stored (README
 * "Errors"), a timeout or a dropped connection may have been applied. Only a refusal before anything
 * was sent, or a 4xx, is a fail.
 */
import { HttpRequestError, type HttpResponse } from '../../client/http-request.js';
import type { Outcome } from '../history.js';
import { RespCallError, type RespReply } from '../resp-client.js';

export interface Classified {
  outcome: Outcome;
  error?: string;
}

/** a write's answer: a 5xx may have been stored (unknown), a 4xx was not (fail) */
export function classifyHttpStatus(res: HttpResponse, okStatuses: number[]): Classified {
  if (okStatuses.includes(res.status)) return { outcome: 'ok' };
  return { outcome: res.status >= 500 ? 'unknown' : 'fail', error: errorCode(res) };
}

/** a read's error answer: it returned nothing and changed nothing, so it failed whatever the status */
export function classifyHttpReadError(res: HttpResponse): Classified {
  return { outcome: 'fail', error: errorCode(res) };
}

function errorCode(res: HttpResponse): string {
  try {
    return `${res.status} ${(JSON.parse(res.body.toString('utf8')) as { error: { code: string } }).error.code}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/** a thrown client error: unknown when the request may have reached the node */
export function classifyThrown(e: unknown): Classified {
  if (e instanceof HttpRequestError || e instanceof RespCallError) {
    return { outcome: e.mayHaveReached ? 'unknown' : 'fail', error: e.timedOut ? 'client timeout' : e.message.replace(/^.*?: /, '') };
  }
  return { outcome: 'unknown', error: String((e as Error)?.message ?? e) };
}

/** RESP error replies that mean the command was refused before anything was written */
const REFUSED = /^(WRONGTYPE|SIBLINGS|NOAUTH|WRONGPASS|ERR (value is not an integer|syntax error|wrong number of arguments|unknown command))/;

/** a RESP reply to a write: an error reply is unknown unless it is one of the refusals above */
export function classifyRespWrite(reply: RespReply, isOk: (r: RespReply) => boolean): Classified {
  if (isOk(reply)) return { outcome: 'ok' };
  if (reply.kind === 'error') return { outcome: REFUSED.test(reply.value) ? 'fail' : 'unknown', error: reply.value.slice(0, 120) };
  return { outcome: 'unknown', error: `unexpected reply ${reply.kind}` };
}
