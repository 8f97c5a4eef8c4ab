/** The two HTTP calls the harness makes, over the client library's raw request (no retries, no failover). */
import { headerOf, httpRequest, type HttpResponse } from '../client/http-request.js';
import { encodeKeyForPath } from '../client/key-path.js';

const CONTEXT_HEADER = 'x-ringkv-context';

export interface ReadAnswer {
  res: HttpResponse;
  /** 200: one value; 300: the siblings; 404 NOT_FOUND: none */
  siblings: Buffer[] | undefined;
  context: string;
}

function query(params: Record<string, number | undefined>): string {
  const q = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return q.length ? `?${q.join('&')}` : '';
}

export async function httpGet(httpUrl: string, key: string, opts: { r?: number; serverTimeoutMs: number; clientTimeoutMs: number }): Promise<ReadAnswer> {
  const res = await httpRequest(httpUrl, { method: 'GET', path: `/kv/${encodeKeyForPath(key)}${query({ r: opts.r, timeout_ms: opts.serverTimeoutMs })}`, timeoutMs: opts.clientTimeoutMs });
  const context = headerOf(res, CONTEXT_HEADER);
  if (res.status === 200) return { res, siblings: [res.body], context };
  if (res.status === 300) {
    const body = JSON.parse(res.body.toString('utf8')) as { siblings: { value: string }[] };
    return { res, siblings: body.siblings.map((s) => Buffer.from(s.value, 'base64')), context };
  }
  if (res.status === 404 && res.body.includes('NOT_FOUND')) return { res, siblings: [], context };
  return { res, siblings: undefined, context };
}

export function httpPut(httpUrl: string, key: string, value: string, opts: { context?: string; w?: number; serverTimeoutMs: number; clientTimeoutMs: number }): Promise<HttpResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (opts.context) headers[CONTEXT_HEADER] = opts.context;
  return httpRequest(httpUrl, {
    method: 'PUT',
    path: `/kv/${encodeKeyForPath(key)}${query({ w: opts.w, timeout_ms: opts.serverTimeoutMs })}`,
    headers,
    body: Buffer.from(value, 'utf8'),
    timeoutMs: opts.clientTimeoutMs,
  });
}
