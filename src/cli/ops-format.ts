/**
 * What `ringkv status`, `ring`, `info`, `top`, `hints` and `transfers` print: pure functions from the
 * node's JSON (/cluster/status, /cluster/overview, /cluster/ring) to text, so they are tested on
 * their own.
 */
import type { ClusterOverview } from '../ops/cluster-watcher.js';
import type { NodeStatus } from '../ops/node-status.js';
import type { PbsPrediction } from '../ops/pbs-sampler.js';
import { OPERATIONS } from '../ops/request-stats.js';
import { formatBytes, formatDuration, formatMs, formatPercent, formatTable } from './table.js';

function fmtNumber(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined ? '-' : Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

function totalRate(s: NodeStatus | null): number | null {
  return s ? Object.values(s.requests.operations).reduce((sum, o) => sum + o.ratePerSec, 0) : null;
}

export function configuredPrediction(s: NodeStatus): PbsPrediction | undefined {
  return s.pbs.predictions.find((p) => p.r === s.config.r && p.w === s.config.w);
}

/** one line on the staleness prediction at the node's own r and w */
export function pbsLine(s: NodeStatus): string {
  const p = configuredPrediction(s);
  const head = `staleness (PBS, ${s.node}'s prediction for N=${s.config.n} R=${s.config.r} W=${s.config.w})`;
  if (!p) return `${head}: ${s.pbs.note}`;
  return `${head}: ${formatPercent(p.freshAtCommit)} of reads fresh at once; 50 % after ${formatMs(p.delta50Ms)}, 99.9 % after ${formatMs(p.delta999Ms)}`;
}

/** `ringkv status`: one row per member, nodetool-status style */
export function formatStatus(o: ClusterOverview): string {
  const partitions = o.ring.partitions;
  const served = o.members.find((m) => m.id === o.servedBy)?.node;
  const rows = o.members.map((m) => {
    // phi and incarnation as the node asked knows them (its member table)
    const self = served?.members.find((x) => x.id === m.id);
    const owned = o.ring.owners.filter((x) => x === m.id).length;
    return [
      m.status,
      m.id + (m.id === o.servedBy ? '*' : ''),
      m.address,
      m.zone ?? '-',
      fmtNumber(self?.phi ?? null, 2),
      fmtNumber(m.node?.incarnation ?? self?.incarnation ?? null),
      String(owned),
      formatPercent(owned / partitions),
      m.node ? (m.node.storage.bytesOnDisk !== null ? formatBytes(m.node.storage.bytesOnDisk) : `${m.node.storage.keys ?? '-'} keys`) : '-',
      fmtNumber(totalRate(m.node)),
      m.reachable ? '' : (m.error ?? ''),
    ];
  });
  const table = formatTable(['status', 'node', 'address', 'zone', 'phi', 'incarnation', 'partitions', 'owns', 'data', 'ops/s', 'note'], rows, { rightAlign: [4, 5, 6, 7, 9] });
  const up = o.members.filter((m) => m.status === 'up').length;
  const lines = [table.trimEnd(), '', `${up} of ${o.members.length} members up (as ${o.servedBy} sees them; * = the node asked)${o.ring.pending.length ? `; ${o.ring.pending.length} partition(s) moving` : ''}`];
  if (served) lines.push(pbsLine(served));
  return lines.join('\n') + '\n';
}

/** `ringkv ring`: each member's share, and with partitions the owner and preference list of each */
export function formatRing(ring: { Q: number; N: number; members?: string[]; partitions: Array<{ partition: number; owner: string; preferenceList: string[] }> }, withPartitions: boolean): string {
  const owned = new Map<string, number>();
  const held = new Map<string, number>();
  for (const p of ring.partitions) {
    owned.set(p.owner, (owned.get(p.owner) ?? 0) + 1);
    for (const id of p.preferenceList) held.set(id, (held.get(id) ?? 0) + 1);
  }
  const ids = ring.members ?? [...held.keys()].sort();
  const rows = ids.map((id) => [id, String(owned.get(id) ?? 0), formatPercent((owned.get(id) ?? 0) / ring.Q), String(held.get(id) ?? 0), formatPercent((held.get(id) ?? 0) / ring.Q)]);
  let out = `${ring.Q} partitions, N=${ring.N}\n\n` + formatTable(['node', 'owns', 'share', 'replicas', 'of partitions'], rows, { rightAlign: [1, 2, 3, 4] });
  if (withPartitions) {
    // consecutive partitions with the same preference list print as one range
    const ranges: string[][] = [];
    let start = 0;
    for (let i = 1; i <= ring.partitions.length; i++) {
      const a = ring.partitions[start];
      const b = ring.partitions[i];
      if (b && b.preferenceList.join(',') === a.preferenceList.join(',')) continue;
      const last = ring.partitions[i - 1].partition;
      ranges.push([a.partition === last ? String(a.partition) : `${a.partition}-${last}`, a.owner, a.preferenceList.join(',')]);
      start = i;
    }
    out += '\n' + formatTable(['partitions', 'owner', 'preference list'], ranges);
  }
  return out;
}

/** `ringkv info <node>`: one node's status, section by section */
export function formatInfo(s: NodeStatus, seenAs?: { status: string; error: string | null }): string {
  const self = s.members.find((m) => m.id === s.node);
  const kv = (k: string, v: string): string => `${k.padEnd(22)} ${v}`;
  const lines = [
    kv('node', s.node),
    ...(seenAs ? [kv('status', `${seenAs.status}${seenAs.error ? ` (${seenAs.error})` : ''}`)] : []),
    kv('address', `${self?.address ?? '-'} (http ${self?.httpAddress ?? '-'})`),
    kv('zone', self?.zone ?? '-'),
    kv('incarnation', `${s.incarnation} (actor ${s.actor})`),
    kv('uptime', formatDuration(s.uptimeMs)),
    kv('config', `N=${s.config.n} R=${s.config.r} W=${s.config.w}, ${s.config.partitions} partitions`),
    kv('partitions owned', `${self?.partitionsOwned ?? 0} (replica of ${self?.replicasHeld ?? 0})`),
    kv('storage', `${s.storage.engine}: ${s.storage.keys ?? '-'} keys, ${formatBytes(s.storage.bytesOnDisk)} on disk`),
    kv('replication', `${s.replication.readRepairs} read repairs, ${s.replication.staleReplies} stale replies, ${s.replication.writeRetriesDeduplicated} retries deduplicated`),
    ...(s.transport
      ? [kv('transport', `${s.transport.connections} connections, ${s.transport.pendingRequests} pending, ${formatBytes(s.transport.bytesSent)} sent, ${formatBytes(s.transport.bytesReceived)} received, ${s.transport.reconnects} reconnects, ${s.transport.stalledConnectionsReplaced} stalled replaced`)]
      : []),
    ...s.warnings.map((w) => kv('warning', w)),
    '',
    formatRequests(s).trimEnd(),
    '',
    pbsLine(s),
  ];
  if (s.pbs.ready) {
    const header = ['R \\ W', ...Array.from({ length: s.pbs.n }, (_, i) => `W=${i + 1}`)];
    const rows = Array.from({ length: s.pbs.n }, (_, r) => [
      `R=${r + 1}`,
      ...Array.from({ length: s.pbs.n }, (_, w) => {
        const p = s.pbs.predictions.find((x) => x.r === r + 1 && x.w === w + 1)!;
        return `${formatPercent(p.freshAtCommit)} / ${formatMs(p.delta999Ms)}`;
      }),
    ]);
    lines.push('fresh at once / 99.9 % after:', formatTable(header, rows).trimEnd());
  }
  lines.push('', ...sectionLines(s));
  return lines.join('\n') + '\n';
}

function formatRequests(s: NodeStatus): string {
  const rows = OPERATIONS.map((op) => {
    const f = s.requests.operations[op];
    return [op, fmtNumber(f.ratePerSec), fmtNumber(f.errorsPerSec), formatMs(f.p50Ms), formatMs(f.p99Ms), formatMs(f.p999Ms), String(f.total)];
  });
  return formatTable([`requests (rate: last ${s.requests.rateWindowSeconds} s, latency: last ${s.requests.percentileWindowSeconds} s)`, 'per s', 'errors/s', 'p50', 'p99', 'p99.9', 'total'], rows, { rightAlign: [1, 2, 3, 4, 5, 6] });
}

/** hints, anti-entropy and transfers: their figures, or that they are not in this version */
export function sectionLines(s: NodeStatus): string[] {
  return [
    s.hints
      ? `hints: ${s.hints.pendingCount} pending (${formatBytes(s.hints.pendingBytes)})${s.hints.oldestAgeMs !== null ? `, oldest ${formatDuration(s.hints.oldestAgeMs)}` : ''}; ${s.hints.storedTotal} stored, ${s.hints.deliveredTotal} delivered, ${s.hints.droppedTotal} dropped since start`
      : 'hints: hinted handoff is not in this version of ringkv',
    s.antiEntropy ? antiEntropyLine(s.antiEntropy) : 'anti-entropy: not in this version of ringkv',
    s.transfers ? transfersLine(s.transfers) : 'transfers: partition transfers are not in this version of ringkv',
  ];
}

export function transfersLine(t: NonNullable<NodeStatus['transfers']>): string {
  const running = t.inbound.filter((x) => x.phase !== 'done');
  if (running.length === 0) return `transfers: none in flight${t.inbound.length ? ` (${t.inbound.length} done in the latest ring change)` : ''}`;
  return `transfers: ${running.length} in flight: ${running.map((x) => `p${x.partition} ${x.from.join('+')}→${x.to} ${x.percent} %${x.stalled ? ` STALLED${x.lastError ? ` (${x.lastError})` : ''}` : ''}`).join(', ')}`;
}

/** `ringkv hints`: the backlog per target */
export function formatHints(h: NonNullable<NodeStatus['hints']>): string {
  const head = `${h.pendingCount} hint(s) pending (${formatBytes(h.pendingBytes)}); ${h.storedTotal} stored, ${h.deliveredTotal} delivered, ${h.droppedTotal} dropped since start; latest replay ${h.replayedPerSec}/s\n`;
  if (h.targets.length === 0) return head;
  return head + '\n' + formatTable(['for', 'hints', 'bytes', 'oldest'], h.targets.map((t) => [t.node, String(t.count), formatBytes(t.bytes), t.oldestAgeMs === null ? '-' : formatDuration(t.oldestAgeMs)]), { rightAlign: [1, 2, 3] });
}

/** `ringkv transfers`: one row per partition this node pulls */
export function formatTransfers(t: NonNullable<NodeStatus['transfers']>): string {
  if (t.inbound.length === 0) return 'no partition transfers in flight on this node\n';
  const rows = t.inbound.map((x) => [String(x.partition), x.from.join(','), x.to, x.phase, `${x.percent} %`, String(x.objects), formatBytes(x.bytes), x.stalled ? `stalled${x.lastError ? `: ${x.lastError}` : ''}` : '']);
  return formatTable(['partition', 'from', 'to', 'phase', 'done', 'objects', 'bytes', 'note'], rows, { rightAlign: [0, 4, 5, 6] });
}

export function antiEntropyLine(a: NonNullable<NodeStatus['antiEntropy']>): string {
  const repair = a.operatorRepair;
  const last = repair
    ? `; last repair${repair.partition !== null ? ` of partition ${repair.partition}` : ''}: ${repair.running ? `running, ${repair.partitionsDone}/${repair.partitionsTotal} partitions` : repairSummary(repair)}`
    : '';
  return `anti-entropy: ${a.enabled ? 'scheduled' : 'schedule off (aaeEnabled false)'}, ${a.exchanges} exchanges (${a.exchangesInSync} in sync, ${a.exchangesFailed} failed), ${a.keysPushed} keys pushed, ${a.keysPulled} pulled, ${formatBytes(a.bytesSent)} sent${last}`;
}

export function repairSummary(r: NonNullable<NonNullable<NodeStatus['antiEntropy']>['operatorRepair']>): string {
  if (r.error) return `failed: ${r.error}`;
  const seconds = r.finishedAtMs !== null ? ((r.finishedAtMs - r.startedAtMs) / 1000).toFixed(1) : '?';
  return `${r.partitionsTotal} partition(s), ${r.exchanges} exchange(s) (${r.exchangesFailed} failed), ${r.segmentsDiffering} differing segment(s), ${r.keysPushed} key(s) pushed, ${r.keysPulled} pulled, in ${seconds} s`;
}

/** `ringkv top`: per node and operation, rate and latency */
export function formatTop(o: ClusterOverview): string {
  const rows: string[][] = [];
  for (const m of o.members) {
    if (!m.node) {
      rows.push([m.id, m.status, '-', '-', '-', '-', '-', '-']);
      continue;
    }
    for (const op of OPERATIONS) {
      const f = m.node.requests.operations[op];
      rows.push([op === 'get' ? m.id : '', op === 'get' ? m.status : '', op, fmtNumber(f.ratePerSec), fmtNumber(f.errorsPerSec), formatMs(f.p50Ms), formatMs(f.p99Ms), formatMs(f.p999Ms)]);
    }
  }
  const when = new Date(o.timeMs).toISOString().replace('T', ' ').slice(0, 19);
  return `ringkv top — ${o.servedBy}'s view at ${when} UTC (rates over 10 s, latencies over 60 s)\n\n` + formatTable(['node', 'status', 'op', 'per s', 'errors/s', 'p50', 'p99', 'p99.9'], rows, { rightAlign: [3, 4, 5, 6, 7] });
}
