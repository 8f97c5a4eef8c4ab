/**
 * The HTTP API of a node (see the README's table): /kv/{key} for get, put and delete, /health,
 * /cluster/ring, /cluster/members, /metrics and, with ops, /cluster/status, /cluster/overview and the
 * dashboard at /ui. Every node serves all of it and coordinates any
 * request. Built on fastify with request logging off: this is the benchmarked hot path, and errors
 * worth a log line (5xx) are logged by the error handler instead.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { RingkvError } from '../../core/errors.js';
import { checkClientWriteId } from '../../cluster/client-write-id.js';
import type { KvService, WriteOptions } from '../../cluster/kv-service.js';
import { silentLogger, type Logger } from '../../cluster/runtime.js';
import { isPublicDashboardPath, registerDashboard } from '../dashboard/dashboard-routes.js';
import { NodeMetrics } from '../metrics.js';
import { sendError, toHttpError } from './errors.js';
import { HttpMetrics } from './http-metrics.js';
import { decodePercentEncodedBytes, KV_PATH_PREFIX, rawKeyFromUrl } from './key-path.js';
import { registerOpsRoutes, type OpsEndpoints } from './ops-routes.js';
import { parseQuorumParam, parseTimeoutParam } from './params.js';

export const CONTEXT_HEADER = 'x-ringkv-context';
export const WRITE_ID_HEADER = 'x-ringkv-write-id';

/** What /health, /cluster/ring and /cluster/members show; ClusterNode provides it. */
export interface ClusterIntrospection {
  ringJson(): object;
  membersJson(): object[];
  /** problems an operator should see (e.g. n larger than the member count) */
  healthWarnings(): string[];
  /** starts this node's graceful leave */
  leave?(): void;
  /** an operator's remove of a (dead) member */
  remove?(id: string): void;
}

export interface HttpApiOptions {
  kv: KvService;
  nodeId: string;
  cluster?: ClusterIntrospection;
  /** the node's registry; a private one is made when absent */
  metrics?: NodeMetrics;
  /** replicas per key: r and w must lie in [1, n] */
  n: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  /** when set, every route but /health, /metrics and the dashboard's static files needs `Authorization: Bearer <password>` */
  password?: string;
  /** the node status, the cluster overview and its live stream: adds /cluster/status, /cluster/overview, /ui */
  ops?: OpsEndpoints;
  logger?: Logger;
}

/** Room above maxValueBytes so a slightly-too-large body reaches the handler and gets our message. */
const BODY_SLACK_BYTES = 64 * 1024;

/** what every /kv/{key} URL is rewritten to before routing */
const KV_ROUTED_PATH = '/kv/k';

type KvQuery = { r?: unknown; w?: unknown; pr?: unknown; pw?: unknown; timeout_ms?: unknown };

export function createHttpApi(opts: HttpApiOptions): FastifyInstance {
  const logger = opts.logger ?? silentLogger;
  const limits = { maxKeyBytes: opts.maxKeyBytes, maxValueBytes: opts.maxValueBytes };
  const registry = opts.metrics ?? new NodeMetrics({ nodeId: opts.nodeId });
  const metrics = new HttpMetrics(registry);

  const app = Fastify({
    logger: false,
    bodyLimit: opts.maxValueBytes + BODY_SLACK_BYTES,
    // The router would decode the key with decodeURIComponent, which rejects binary keys (bytes that
    // are not UTF-8). So /kv/{key} is routed under a fixed path and the handler decodes the original
    // URL itself (request.originalUrl) straight to bytes.
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      if (!url.startsWith(KV_PATH_PREFIX)) return url;
      const q = url.indexOf('?');
      return q < 0 ? KV_ROUTED_PATH : KV_ROUTED_PATH + url.slice(q);
    },
    return503OnClosing: true,
    frameworkErrors: (err, _request, reply) => {
      void sendError(reply, toHttpError(err, limits));
    },
  });

  // A value is any bytes with any (or no) content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, request, reply) => {
    const error = toHttpError(err, limits);
    if (error.httpStatus >= 500 && error.code === 'INTERNAL') {
      logger.error({ err: { message: (err as Error).message, stack: (err as Error).stack }, method: request.method, url: request.url }, 'internal error serving HTTP request');
    }
    return sendError(reply, error);
  });

  app.setNotFoundHandler((request, reply) => {
    return sendError(reply, new RingkvError('NO_SUCH_ROUTE', `no route for ${request.method} ${request.originalUrl.split('?')[0]}`));
  });

  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime);
    done();
  });

  if (opts.password !== undefined) {
    const expected = Buffer.from(`Bearer ${opts.password}`);
    app.addHook('onRequest', (request, reply, done) => {
      const path = request.url.split('?', 1)[0];
      if (path === '/health' || path === '/metrics' || isPublicDashboardPath(path)) return done();
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return done();
      void sendError(reply, new RingkvError('UNAUTHORIZED', 'this node requires a password: send "Authorization: Bearer <password>"'));
    });
  }

  function keyOf(request: FastifyRequest): Uint8Array {
    const raw = rawKeyFromUrl(request.originalUrl) ?? '';
    const key = decodePercentEncodedBytes(raw);
    if (key === undefined) throw new RingkvError('BAD_PARAMETER', `malformed percent-encoding in key ${JSON.stringify(raw.slice(0, 64))}`);
    if (key.length === 0) throw new RingkvError('BAD_PARAMETER', 'the key must not be empty: use /kv/{key}');
    if (key.length > opts.maxKeyBytes) {
      throw new RingkvError('KEY_TOO_LARGE', `key is ${key.length} bytes; the limit is maxKeyBytes = ${opts.maxKeyBytes}`);
    }
    return key;
  }

  function contextOf(request: FastifyRequest): string | undefined {
    const header = request.headers[CONTEXT_HEADER];
    if (Array.isArray(header)) throw new RingkvError('MALFORMED_CONTEXT', `${CONTEXT_HEADER} was given ${header.length} times; give it once`);
    return header === undefined || header === '' ? undefined : header;
  }

  /** the write options every write route shares: w, timeout_ms, the context and the client's write id */
  function writeOptionsOf(request: FastifyRequest<{ Querystring: KvQuery }>): WriteOptions {
    const w = parseQuorumParam('w', request.query.w, opts.n);
    const pw = parseQuorumParam('pw', request.query.pw, opts.n);
    const timeoutMs = parseTimeoutParam(request.query.timeout_ms);
    const context = contextOf(request);
    const writeId = request.headers[WRITE_ID_HEADER];
    if (Array.isArray(writeId)) throw new RingkvError('BAD_PARAMETER', `${WRITE_ID_HEADER} was given ${writeId.length} times; give it once`);
    return {
      ...(w !== undefined ? { w } : {}),
      ...(pw !== undefined ? { pw } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(context !== undefined ? { context } : {}),
      ...(writeId !== undefined && writeId !== '' ? { writeId: checkClientWriteId(writeId) } : {}),
    };
  }

  app.get('/kv/*', async (request: FastifyRequest<{ Querystring: KvQuery }>, reply: FastifyReply) => {
    const key = keyOf(request);
    const r = parseQuorumParam('r', request.query.r, opts.n);
    const pr = parseQuorumParam('pr', request.query.pr, opts.n);
    const timeoutMs = parseTimeoutParam(request.query.timeout_ms);
    const result = await opts.kv.get(key, { ...(r !== undefined ? { r } : {}), ...(pr !== undefined ? { pr } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    if (result.context !== '') reply.header(CONTEXT_HEADER, result.context);
    if (result.siblings.length === 0) {
      return sendError(reply, new RingkvError('NOT_FOUND', 'no value for this key'));
    }
    if (result.siblings.length === 1) {
      const value = result.siblings[0].value;
      return reply.code(200).header('content-type', 'application/octet-stream').send(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
    const body = {
      context: result.context,
      siblings: result.siblings.map((s) => ({ value: Buffer.from(s.value.buffer, s.value.byteOffset, s.value.byteLength).toString('base64') })),
    };
    return reply.code(300).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  });

  app.put('/kv/*', async (request: FastifyRequest<{ Querystring: KvQuery }>, reply: FastifyReply) => {
    const key = keyOf(request);
    const writeOptions = writeOptionsOf(request);
    const body = request.body;
    const value = body === undefined || body === null ? new Uint8Array(0) : (body as Buffer);
    if (value.length > opts.maxValueBytes) {
      throw new RingkvError('VALUE_TOO_LARGE', `value is ${value.length} bytes; the limit is maxValueBytes = ${opts.maxValueBytes}`);
    }
    const result = await opts.kv.put(key, value, writeOptions);
    return reply.code(204).header(CONTEXT_HEADER, result.context).send();
  });

  app.delete('/kv/*', async (request: FastifyRequest<{ Querystring: KvQuery }>, reply: FastifyReply) => {
    const key = keyOf(request);
    await opts.kv.delete(key, writeOptionsOf(request));
    return reply.code(204).send();
  });

  app.get('/health', async () => {
    const warnings = opts.cluster?.healthWarnings() ?? [];
    return { node: opts.nodeId, status: 'ok', ...(warnings.length > 0 ? { warnings } : {}) };
  });

  app.get('/cluster/ring', async () => {
    if (opts.cluster === undefined) throw new RingkvError('INTERNAL', 'this node has no ring to show');
    return opts.cluster.ringJson();
  });

  app.get('/cluster/members', async () => {
    if (opts.cluster === undefined) throw new RingkvError('INTERNAL', 'this node has no member table to show');
    return opts.cluster.membersJson();
  });

  // membership changes: 202, the change goes on in the background (watch /cluster/members, /cluster/ring)
  app.post('/cluster/leave', async (_request, reply) => {
    if (opts.cluster?.leave === undefined) throw new RingkvError('BAD_PARAMETER', 'this node cannot leave (no gossip membership)');
    opts.cluster.leave();
    return reply.code(202).send({ node: opts.nodeId, status: 'leaving' });
  });

  app.post('/cluster/remove/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    if (opts.cluster?.remove === undefined) throw new RingkvError('BAD_PARAMETER', 'this node cannot remove members (no gossip membership)');
    opts.cluster.remove(request.params.id);
    return reply.code(202).send({ node: request.params.id, status: 'left' });
  });
  if (opts.ops !== undefined) {
    registerOpsRoutes(app, opts.ops);
    registerDashboard(app, { nodeId: opts.nodeId, passwordRequired: opts.password !== undefined });
  }

  app.get('/metrics', async (_request, reply) => {
    const text = await registry.text();
    return reply.header('content-type', registry.contentType).send(text);
  });

  return app;
}
