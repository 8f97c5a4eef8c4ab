/**
 * Where the CPU goes, per layer: reads `node --cpu-prof` profiles and attributes every sample to one
 * of ringkv's layers, so a benchmark can report CPU µs per operation for the front end, coordination,
 * messaging, serialization and storage.
 *
 * A sample belongs to the innermost frame of its stack that says which layer it is: ringkv's own
 * files by directory, libraries by package (msgpackr = serialization, fastify and its helpers = front
 * end, pino = logging, prom-client = metrics). Native frames and Node's internals (streams, sockets,
 * timers) are transparent: a socket write counts for the layer that asked for it — the internode
 * flush is messaging, a RESP reply the front end, a commit-log append storage. What no ringkv frame
 * claims (the microtask runner, timers, V8's own work) is `runtime`; the garbage collector is `gc`.
 *
 *   npm run bench:layers -- <profile dir> [--ops N] [--from-us T0 --to-us T1]
 *
 * Profile timestamps are microseconds of the monotonic clock that process.hrtime() reads, so a
 * benchmark can cut out the measured phase with --from-us / --to-us.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * CPU time (user + system, every thread) a process has used so far, in µs, from /proc (Linux); 0 when
 * unreadable. A profile's samples count time a thread was runnable, including time it waited for a
 * core on a busy machine; this is what it really used, so per-operation figures scale to it.
 */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12]: utime, stime in clock ticks (100 per second on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

export const LAYERS = ['front end', 'coordination', 'messaging', 'serialization', 'storage', 'logging', 'metrics', 'runtime', 'gc'] as const;
export type Layer = (typeof LAYERS)[number];

interface CallFrame {
  functionName: string;
  url: string;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  parent?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One process (or thread) profile, reduced to time per layer inside the window. */
export interface LayerTimes {
  file: string;
  /** µs of samples in the window, idle excluded */
  busyUs: number;
  idleUs: number;
  byLayer: Record<Layer, number>;
}

const LIBRARY_LAYERS: Array<[string, Layer]> = [
  ['/node_modules/msgpackr', 'serialization'],
  ['/node_modules/fastify', 'front end'],
  ['/node_modules/@fastify/', 'front end'],
  ['/node_modules/find-my-way', 'front end'],
  ['/node_modules/light-my-request', 'front end'],
  ['/node_modules/avvio', 'front end'],
  ['/node_modules/fast-json-stringify', 'front end'],
  ['/node_modules/fast-querystring', 'front end'],
  ['/node_modules/pino', 'logging'],
  ['/node_modules/sonic-boom', 'logging'],
  ['/node_modules/prom-client', 'metrics'],
];

const SOURCE_LAYERS: Array<[string, Layer]> = [
  ['/src/net/frame-codec', 'serialization'],
  ['/src/net/envelope', 'serialization'],
  ['/src/cluster/object-codec', 'serialization'],
  ['/src/core/version/context-token', 'serialization'],
  ['/src/api/', 'front end'],
  ['/src/net/', 'messaging'],
  ['/src/cluster/', 'coordination'],
  ['/src/core/', 'coordination'],
  ['/src/storage/', 'storage'],
];

/** The layer a frame speaks for, or undefined when it is transparent (native code, Node internals). */
export function frameLayer(frame: CallFrame): Layer | undefined {
  const url = frame.url;
  if (url === '') return undefined;
  if (url.startsWith('node:')) return url.startsWith('node:_http') || url === 'node:http' ? 'front end' : undefined;
  for (const [part, layer] of LIBRARY_LAYERS) if (url.includes(part)) return layer;
  if (url.includes('/node_modules/')) return undefined;
  for (const [part, layer] of SOURCE_LAYERS) if (url.includes(part)) return layer;
  return undefined;
}

function emptyLayers(): Record<Layer, number> {
  return Object.fromEntries(LAYERS.map((l) => [l, 0])) as Record<Layer, number>;
}

/** Time per layer of one profile, counting only samples taken in [fromUs, toUs] when given. */
export function layerTimes(file: string, profile: CpuProfile, fromUs = -Infinity, toUs = Infinity): LayerTimes {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) byId.get(c)!.parent = n.id;
  const cache = new Map<number, Layer | 'idle'>();
  const layerOfNode = (id: number): Layer | 'idle' => {
    const hit = cache.get(id);
    if (hit !== undefined) return hit;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let layer: Layer | 'idle';
    if (name === '(idle)') layer = 'idle';
    else if (name === '(garbage collector)') layer = 'gc';
    else {
      layer = 'runtime';
      for (let n: ProfileNode | undefined = node; n !== undefined; n = n.parent === undefined ? undefined : byId.get(n.parent)) {
        const l = frameLayer(n.callFrame);
        if (l !== undefined) {
          layer = l;
          break;
        }
      }
    }
    cache.set(id, layer);
    return layer;
  };
  const byLayer = emptyLayers();
  let busyUs = 0;
  let idleUs = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) continue;
    const layer = layerOfNode(profile.samples[i]);
    if (layer === 'idle') idleUs += dt;
    else {
      byLayer[layer] += dt;
      busyUs += dt;
    }
  }
  return { file, busyUs, idleUs, byLayer };
}

/** Every *.cpuprofile in dir, reduced to layer times. */
export function readProfiles(dir: string, fromUs?: number, toUs?: number): LayerTimes[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => layerTimes(f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile, fromUs, toUs));
}

/**
 * Scales a process's profiles (its threads) so their busy time equals the CPU time it really used
 * (see processCpuUs): the layers keep their shares.
 */
export function scaledToCpu(times: LayerTimes[], cpuUs: number): LayerTimes[] {
  const busy = times.reduce((s, t) => s + t.busyUs, 0);
  if (!(busy > 0) || !(cpuUs > 0)) return times;
  const f = cpuUs / busy;
  return times.map((t) => ({
    file: t.file,
    busyUs: t.busyUs * f,
    idleUs: t.idleUs,
    byLayer: Object.fromEntries(LAYERS.map((l) => [l, t.byLayer[l] * f])) as Record<Layer, number>,
  }));
}

/** Sums layer times over profiles (every thread of every node of a cluster). */
export function sumLayers(times: LayerTimes[]): { busyUs: number; byLayer: Record<Layer, number> } {
  const byLayer = emptyLayers();
  let busyUs = 0;
  for (const t of times) {
    busyUs += t.busyUs;
    for (const l of LAYERS) byLayer[l] += t.byLayer[l];
  }
  return { busyUs, byLayer };
}

/** A table: per layer, CPU µs per operation (over all profiles) and its share; then each profile's busy share. */
export function formatLayers(times: LayerTimes[], ops: number): string {
  const total = sumLayers(times);
  const lines = [`CPU per operation by layer, ${ops} operations, ${times.length} profiled thread(s):`, `${'layer'.padEnd(14)} ${'µs/op'.padStart(8)} ${'share'.padStart(7)}`];
  for (const l of LAYERS) {
    const us = total.byLayer[l];
    lines.push(`${l.padEnd(14)} ${(us / ops).toFixed(1).padStart(8)} ${`${((100 * us) / Math.max(1, total.busyUs)).toFixed(1)} %`.padStart(7)}`);
  }
  lines.push(`${'total'.padEnd(14)} ${(total.busyUs / ops).toFixed(1).padStart(8)}`);
  for (const t of times) {
    const wall = t.busyUs + t.idleUs;
    lines.push(`  ${t.file}: busy ${((100 * t.busyUs) / Math.max(1, wall)).toFixed(0)} % of ${(wall / 1e6).toFixed(1)} s`);
  }
  return lines.join('\n');
}

/** The same figures as one JSON-able object: µs per op per layer, summed over the profiles. */
export function layersPerOp(times: LayerTimes[], ops: number): Record<Layer | 'total', number> {
  const total = sumLayers(times);
  const out = { total: Number((total.busyUs / ops).toFixed(2)) } as Record<Layer | 'total', number>;
  for (const l of LAYERS) out[l] = Number((total.byLayer[l] / ops).toFixed(2));
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dir = argv.find((a, i) => !a.startsWith('--') && (i === 0 || !argv[i - 1].startsWith('--')));
  const flag = (name: string): number | undefined => {
    const i = argv.indexOf(name);
    return i < 0 ? undefined : Number(argv[i + 1]);
  };
  if (dir === undefined) {
    console.error('usage: npm run bench:layers -- <profile dir> [--ops N] [--from-us T0 --to-us T1]');
    process.exitCode = 2;
    return;
  }
  const times = readProfiles(dir, flag('--from-us'), flag('--to-us'));
  const ops = flag('--ops') ?? 1;
  console.log(formatLayers(times, ops));
  console.log(JSON.stringify({ bench: 'layers', dir, ops, usPerOp: layersPerOp(times, ops) }));
}

if (process.argv[1]?.endsWith('cpu-layers.js')) await main();
