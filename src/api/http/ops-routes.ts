/**
 * Operator routes: GET /cluster/status (this node's typed status), GET /cluster/overview (every
 * member's status as this node sees them), POST /cluster/repair (an anti-entropy exchange now) and
 * GET /ui/events (the overview as a live
 * text/event-stream, one event per poll interval, for the dashboard and scripts).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RingkvError } from '../../core/errors.js';
import type { ClusterOverview, OverviewListener } from '../../ops/cluster-watcher.js';
import type { NodeStatus } from '../../ops/node-status.js';
import type { OperatorRepair } from '../../ops/repair-tracker.js';

export interface OpsEndpoints {
  status(seriesSeconds?: number): NodeStatus;
  overview(seriesSeconds?: number): Promise<ClusterOverview>;
  subscribe(listener: OverviewListener): () => void;
  /** starts `ringkv repair` (every partition here, or one), or returns the one running */
  repair(partition?: number): { repair: OperatorRepair; alreadyRunning: boolean };
}

/** at most this many live streams per node; more get 503 */
export const MAX_EVENT_STREAMS = 100;
/** seconds of per-second history a request may ask for */
export const MAX_SERIES_SECONDS = 299;

function seriesParam(request: FastifyRequest<{ Querystring: { series?: unknown } }>): number | undefined {
  const raw = request.query.series;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) > MAX_SERIES_SECONDS) {
    throw new RingkvError('BAD_PARAMETER', `series must be an integer from 0 to ${MAX_SERIES_SECONDS} (seconds of history), got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

export function registerOpsRoutes(app: FastifyInstance, ops: OpsEndpoints): void {
  app.get('/cluster/status', async (request: FastifyRequest<{ Querystring: { series?: unknown } }>) => ops.status(seriesParam(request)));
  app.get('/cluster/overview', async (request: FastifyRequest<{ Querystring: { series?: unknown } }>) => ops.overview(seriesParam(request)));

  // 202: the repair runs in the background; its progress is in /cluster/status (antiEntropy.operatorRepair)
  app.post('/cluster/repair', async (request: FastifyRequest<{ Querystring: { partition?: unknown } }>, reply) => {
    const raw = request.query.partition;
    if (raw !== undefined && (typeof raw !== 'string' || !/^\d{1,6}$/.test(raw))) {
      throw new RingkvError('BAD_PARAMETER', `partition must be a partition number, got ${JSON.stringify(raw)}`);
    }
    return reply.code(202).send(ops.repair(raw === undefined ? undefined : Number(raw)));
  });

  const streams = new Set<ServerResponse>();
  app.get('/ui/events', (request, reply) => {
    if (streams.size >= MAX_EVENT_STREAMS) throw new RingkvError('TOO_MANY_STREAMS', `this node already serves ${MAX_EVENT_STREAMS} live streams; try another node`);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    streams.add(res);
    // a slow reader misses snapshots instead of piling them up in memory: the next one supersedes them
    let congested = false;
    res.on('drain', () => (congested = false));
    const unsubscribe = ops.subscribe((_overview, json) => {
      if (!congested) congested = !res.write(`event: overview\ndata: ${json}\n\n`);
    });
    const end = (): void => {
      unsubscribe();
      streams.delete(res);
    };
    res.on('close', end);
    request.raw.on('close', end);
  });
  // streams never end by themselves: close them first, or the server would wait for them on stop
  app.addHook('preClose', (done) => {
    for (const res of streams) res.end();
    streams.clear();
    done();
  });
}
