/**
 * The dashboard at /ui: static files shipped in the package (assets/ beside this file, copied into
 * dist by the build) and uPlot from node_modules — no CDN, no build server. The page and its assets
 * carry no data and are served without the password; the data (/ui/events, /cluster/*) needs it when
 * the node has one, and the page asks for it once (see assets/app.js).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RingkvError } from '../../core/errors.js';

/** paths served without the password: they hold no cluster data */
export function isPublicDashboardPath(path: string): boolean {
  return path === '/ui' || path === '/ui/' || path === '/ui/session' || path.startsWith('/ui/assets/');
}

interface Asset {
  body: Buffer;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

function load(url: URL | string, name: string): Asset {
  const ext = name.slice(name.lastIndexOf('.') + 1);
  return { body: readFileSync(url), contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream' };
}

/** every file the page uses, read once at start-up */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of ['index.html', 'app.js', 'render.js', 'stream.js', 'style.css']) assets.set(name, load(new URL(`./assets/${name}`, import.meta.url), name));
  const require = createRequire(import.meta.url);
  assets.set('uplot.js', load(require.resolve('uplot/dist/uPlot.iife.min.js'), 'uplot.js'));
  assets.set('uplot.css', load(require.resolve('uplot/dist/uPlot.min.css'), 'uplot.css'));
  return assets;
}

export interface DashboardOptions {
  nodeId: string;
  /** the page asks for the password before it asks for data (so no request of it is refused) */
  passwordRequired: boolean;
}

export function registerDashboard(app: FastifyInstance, opts: DashboardOptions): void {
  let assets: Map<string, Asset>;
  try {
    assets = loadAssets();
  } catch (e) {
    // a build that skipped copying the assets (tsc alone) must not stop the node: /ui says what is wrong
    const why = `the dashboard's files are missing (${(e as Error).message}); build with npm run build, which copies them`;
    app.get('/ui', async () => {
      throw new RingkvError('INTERNAL', why);
    });
    return;
  }
  const send = (reply: FastifyReply, asset: Asset): FastifyReply =>
    reply.header('content-type', asset.contentType).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(asset.body);
  const page = assets.get('index.html')!;
  app.get('/ui', async (_request, reply) => send(reply, page));
  app.get('/ui/', async (_request, reply) => send(reply, page));
  app.get('/ui/session', async () => ({ node: opts.nodeId, passwordRequired: opts.passwordRequired }));
  app.get('/ui/assets/:name', async (request: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const asset = assets.get(request.params.name);
    if (asset === undefined) throw new RingkvError('NO_SUCH_ROUTE', `no dashboard asset ${JSON.stringify(request.params.name).slice(0, 80)}`);
    return send(reply, asset);
  });
}
