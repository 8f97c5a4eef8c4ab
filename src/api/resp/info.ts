import { arch, platform, release } from 'node:os';
import type { ServerContext } from './command.js';

/** What the node tells the RESP front end about itself for INFO, DBSIZE and HELLO. Kept small on purpose. */
export interface InfoSnapshot {
  nodeId: string;
  members: ReadonlyArray<{ id: string; address: string; status: string }>;
  /** partitions on the ring (Q) */
  ringPartitions: number;
  n: number;
  r: number;
  w: number;
  /** keys this node stores (all replicas it holds, tombstones excluded where cheap); an estimate */
  keysEstimate: number;
  uptimeMs: number;
  /** from the node status, when the node has one */
  incarnation?: number;
  partitionsOwned?: number;
  /** client requests per second coordinated here (all operations) */
  opsPerSec?: number;
  /** the staleness prediction at the node's r and w (PBS) */
  pbs?: { ready: false } | { ready: true; freshAtCommit: number; delta999Ms: number };
}

/** the Redis version ringkv answers as, for clients that gate features on it (GET/SET syntax of 7.0) */
export const REDIS_COMPAT_VERSION = '7.0.0';
export const RINGKV_VERSION = '0.1.0';

const DEFAULT_SECTIONS = ['server', 'clients', 'persistence', 'stats', 'replication', 'cluster', 'keyspace'];

/** The INFO text: `# Section` headers and `field:value` lines, CRLF-separated, like Redis. */
export function renderInfo(ctx: ServerContext, requested: readonly string[], connectedClients: number): string {
  const snapshot = ctx.info();
  const wanted = requested.map((s) => s.toLowerCase());
  const all = wanted.length === 0 || wanted.some((s) => s === 'all' || s === 'everything' || s === 'default');
  const sections = all ? DEFAULT_SECTIONS : DEFAULT_SECTIONS.filter((s) => wanted.includes(s));
  const out: string[] = [];
  for (const section of sections) {
    if (out.length > 0) out.push('');
    out.push(...renderSection(section, ctx, snapshot, connectedClients));
  }
  return out.length === 0 ? '' : `${out.join('\r\n')}\r\n`;
}

function renderSection(section: string, ctx: ServerContext, s: InfoSnapshot, connectedClients: number): string[] {
  switch (section) {
    case 'server': {
      const uptimeSec = Math.floor(s.uptimeMs / 1000);
      return [
        '# Server',
        `redis_version:${REDIS_COMPAT_VERSION}`,
        `ringkv_version:${RINGKV_VERSION}`,
        'redis_mode:standalone',
        `os:${platform()} ${release()} ${arch()}`,
        `arch_bits:${arch().endsWith('64') ? 64 : 32}`,
        `process_id:${process.pid}`,
        `node_version:${process.versions.node}`,
        `tcp_port:${ctx.port}`,
        `uptime_in_seconds:${uptimeSec}`,
        `uptime_in_days:${Math.floor(uptimeSec / 86400)}`,
      ];
    }
    case 'clients':
      return ['# Clients', `connected_clients:${connectedClients}`, `maxclients:${ctx.maxClients}`, 'blocked_clients:0'];
    case 'persistence':
      // ioredis and others wait while loading:1; a ringkv node serves as soon as it listens
      return ['# Persistence', 'loading:0', 'async_loading:0'];
    case 'stats':
      return [
        '# Stats',
        `total_connections_received:${ctx.stats.connectionsReceived}`,
        `total_commands_processed:${ctx.stats.commandsProcessed}`,
        `rejected_connections:${ctx.stats.connectionsRejected}`,
        `total_error_replies:${ctx.stats.errorReplies}`,
        `protocol_errors:${ctx.stats.protocolErrors}`,
        // Redis's field, here for every client request this node coordinated (HTTP and RESP)
        ...(s.opsPerSec !== undefined ? [`instantaneous_ops_per_sec:${Math.round(s.opsPerSec)}`] : []),
      ];
    case 'replication':
      // every ringkv node accepts writes; replication is the cluster's, shown under # Cluster
      return ['# Replication', 'role:master', 'connected_slaves:0'];
    case 'cluster':
      return [
        '# Cluster',
        // not the Redis Cluster protocol: clients must not try MOVED/ASK slot routing
        'cluster_enabled:0',
        `ringkv_node_id:${s.nodeId}`,
        `ringkv_members:${s.members.length}`,
        `ringkv_members_up:${s.members.filter((m) => m.status === 'up').length}`,
        `ringkv_ring_partitions:${s.ringPartitions}`,
        `ringkv_n:${s.n}`,
        `ringkv_r:${s.r}`,
        `ringkv_w:${s.w}`,
        ...(s.incarnation !== undefined ? [`ringkv_incarnation:${s.incarnation}`] : []),
        ...(s.partitionsOwned !== undefined ? [`ringkv_partitions_owned:${s.partitionsOwned}`] : []),
        ...(s.pbs !== undefined ? pbsLines(s.pbs) : []),
        // like Redis's `slave0:ip=…,port=…,state=…` lines
        ...s.members.map((m, i) => {
          const colon = m.address.lastIndexOf(':');
          const ip = colon === -1 ? m.address : m.address.slice(0, colon);
          const port = colon === -1 ? '' : m.address.slice(colon + 1);
          return `member${i}:id=${safeField(m.id)},ip=${safeField(ip)},port=${safeField(port)},status=${safeField(m.status)}`;
        }),
      ];
    case 'keyspace':
      return ['# Keyspace', ...(s.keysEstimate > 0 ? [`db0:keys=${s.keysEstimate},expires=0,avg_ttl=0`] : [])];
    default:
      return [];
  }
}

/** the PBS prediction at the node's r and w: fresh reads right after a commit, and when 99.9 % are */
function pbsLines(pbs: NonNullable<InfoSnapshot['pbs']>): string[] {
  if (!pbs.ready) return ['ringkv_pbs_ready:0'];
  return ['ringkv_pbs_ready:1', `ringkv_pbs_fresh_at_commit:${pbs.freshAtCommit.toFixed(4)}`, `ringkv_pbs_visibility_999_ms:${pbs.delta999Ms}`];
}

/** INFO fields are `k=v,k=v`: keep separators and line breaks out of values */
function safeField(s: string): string {
  return s.replace(/[\r\n,=:]/g, '_');
}
