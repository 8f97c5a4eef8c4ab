/**
 * One HTTP request over node:http(s), with the path sent exactly as given.
 *
 * Why not the global fetch: fetch parses every URL with the WHATWG URL parser, which removes "." and
 * ".." path segments — and treats "%2E" and "%2E%2E" as those segments too — so the keys "." and ".."
 * could never reach `/kv/{key}`. node:http sends the request target untouched.
 *
 * A failed request says whether it may have reached the server (`mayHaveReached`): false only when no
 * connection was ever made (refused, unreachable, DNS), so a caller can tell "certainly not applied"
 * from "outcome unknown".
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method: string;
  /** request target, already percent-encoded, e.g. `/kv/%2E?r=2` */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** the whole exchange (connect, send, receive the body) must finish within this */
  timeoutMs: number;
}

export class HttpRequestError extends Error {
  constructor(
    message: string,
    /** a connection was made, so the server may have received (and acted on) the request */
    readonly mayHaveReached: boolean,
    /** the time limit passed */
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'HttpRequestError';
  }
}

/** Sends one request to `origin` (e.g. http://127.0.0.1:8001) and reads the whole response. */
export function httpRequest(origin: string, opts: HttpRequestOptions): Promise<HttpResponse> {
  const base = new URL(origin);
  const transport = base.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let connected = false;
    let timedOut = false;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body) headers['content-length'] = String(opts.body.length);
    const req = transport.request({
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[|\]$/g, ''),
      port: base.port,
      method: opts.method,
      path: opts.path,
      headers,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new Error(`no complete answer within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    req.on('socket', (socket) => {
      // a pooled keep-alive socket is connected already
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new HttpRequestError(`${opts.method} ${origin}${opts.path}: ${err.message}`, connected, timedOut));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => {}); // reported through req's 'error'
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.end(opts.body);
  });
}

/** a response header as one string ('' when absent) */
export function headerOf(res: HttpResponse, name: string): string {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}
