/**
 * The one validated configuration schema of a ringkv node. Every field has a default (documented with
 * `@default`) and a `.describe()` text that the CLI reuses for `--help`. Sources are merged by
 * src/config/load.ts: defaults < config file < RINGKV_* environment < command-line flags.
 */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');

/** One other member of the cluster, as listed in `peers`. */
export const peerSchema = z.strictObject({
  /** node id, unique in the cluster */
  id: z.string().min(1).max(64),
  /** host:port of the peer's internode (TCP) listener */
  address: hostPort,
  /** host:port of the peer's HTTP API, shown by /cluster/members @default undefined */
  httpAddress: hostPort.optional(),
  /** rack / data-centre label @default undefined */
  zone: z.string().min(1).optional(),
  /** relative share of partitions @default 1 */
  weight: z.number().positive().default(1),
});

export type PeerConfig = z.infer<typeof peerSchema>;

export const ENGINE_KINDS = ['lsm', 'memory'] as const;
export const COMMITLOG_SYNC_MODES = ['batch', 'periodic'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const configFields = {
  /** this node's id, unique in the cluster @default "n1" */
  nodeId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only').default('n1')
    .describe('this node\'s id, unique in the cluster'),
  /** address the HTTP, internode and RESP listeners bind to and that peers reach @default "127.0.0.1" */
  host: z.string().min(1).default('127.0.0.1').describe('address to bind and to advertise to peers'),
  /** HTTP API port @default 8001 */
  httpPort: port.default(8001).describe('HTTP API port'),
  /** internode TCP port @default 9001 */
  internalPort: port.default(9001).describe('internode TCP port'),
  /** RESP (Redis protocol) port; 0 turns RESP off @default 6381 */
  respPort: port.default(6381).describe('RESP (Redis protocol) port, 0 = off'),
  /** where the storage engine keeps its files @default "./data/<nodeId>" */
  dataDir: z.string().min(1).optional().describe('data directory (default ./data/<nodeId>)'),
  /** storage engine: the log-structured engine on disk or an in-memory map @default "lsm" */
  engine: z.enum(ENGINE_KINDS).default('lsm').describe('storage engine: lsm | memory'),
  /** commit log durability: group commit acked after fsync, or fsync every 10 ms @default "batch" */
  commitlogSync: z.enum(COMMITLOG_SYNC_MODES).default('batch').describe('commit log sync: batch | periodic'),
  /** start despite commit-log corruption before its tail: corrupt records are skipped (and logged), the writes they held are lost @default false */
  skipCorruptCommitlog: z.boolean().default(false).describe('start despite corrupt commit-log records (the writes they held are lost)'),
  /** the other members; this node may be listed too (the same list on every node), its entry then agreeing with zone and weight @default [] */
  peers: z.array(peerSchema).default([])
    .describe('other members: id@host:port[?http=host:port&zone=z&weight=1], comma separated, or a JSON array'),
  /** this node's rack / data-centre label @default undefined */
  zone: z.string().min(1).optional().describe('this node\'s zone (rack / data centre)'),
  /** this node's relative share of partitions @default 1 */
  weight: z.number().positive().default(1).describe('this node\'s relative share of partitions'),
  /** partitions on the ring (Q), a power of two @default 256 */
  partitions: z.number().int().min(1).max(65536).default(256)
    .refine((q) => (q & (q - 1)) === 0, 'must be a power of two').describe('partitions on the ring (power of two)'),
  /** replicas per key (N) @default 3 */
  n: z.number().int().min(1).max(16).default(3).describe('replicas per key (N)'),
  /** default read quorum (R), 1..n @default 2 */
  r: z.number().int().min(1).default(2).describe('default read quorum (R)'),
  /** default write quorum (W), 1..n @default 2 */
  w: z.number().int().min(1).default(2).describe('default write quorum (W)'),
  /** default per-request timeout in milliseconds @default 5000 */
  requestTimeoutMs: z.number().int().min(1).max(600_000).default(5000).describe('default request timeout (ms)'),
  /** client requests (HTTP and RESP) running in the cluster layer at once; more wait in a queue @default 256 */
  maxInflightRequests: z.number().int().min(1).max(1_000_000).default(256).describe('client requests running at once; more wait'),
  /** client requests waiting for a slot, at most; past it (or past their timeout) they are refused with OVERLOADED @default 4096 */
  maxQueuedRequests: z.number().int().min(0).max(10_000_000).default(4096).describe('client requests waiting at most; more are refused (OVERLOADED)'),
  /** largest key accepted, in bytes @default 1024 */
  maxKeyBytes: z.number().int().min(1).max(65536).default(1024).describe('largest key (bytes)'),
  /** largest value accepted, in bytes @default 1048576 */
  maxValueBytes: z.number().int().min(1).max(64 * 1024 * 1024).default(1024 * 1024).describe('largest value (bytes)'),
  /** log a warning when a key holds more siblings than this @default 25 */
  siblingWarnCount: z.number().int().min(1).default(25).describe('warn past this many siblings'),
  /** refuse a write that would leave more siblings than this @default 100 */
  siblingLimitCount: z.number().int().min(1).default(100).describe('refuse writes past this many siblings'),
  /** log and count a key whose version vector has more entries than this (entries are never pruned: see README "Consistency") @default 50 */
  vclockWarnCount: z.number().int().min(1).default(50).describe('warn about version vectors past this many entries'),
  /** a peer's HLC timestamp more than this far ahead of this node's clock is clamped and counted, not adopted (CockroachDB's max offset) @default 500 */
  maxClockOffsetMs: z.number().int().min(0).max(3_600_000).default(500).describe('clamp peer timestamps further ahead than this (ms)'),
  /** write ids remembered for exactly-once retries, in bytes @default 8388608 */
  writeDedupMaxBytes: z.number().int().min(0).default(8 * 1024 * 1024).describe('memory for remembered write ids (bytes)'),
  /** how long a write id is remembered (ms) @default 600000 */
  writeDedupMaxAgeMs: z.number().int().min(0).default(600_000).describe('how long write ids are remembered (ms)'),
  /**
   * join a running cluster through the internode addresses of any of its members
   * ("host:port[,host:port…]"): the node learns the cluster's ring and the claimant adds it, moving its
   * share of the partitions to it @default undefined
   */
  join: z.string().regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'expected host:port[,host:port…]').optional().describe('join a running cluster through these members\' internode addresses (host:port,...)'),
  /**
   * the secret every internode connection proves, both ways, before any message (HMAC challenge–
   * response); required with peers or join. Never logged, never shown. @default undefined
   */
  clusterSecret: z.string().min(16, 'must be at least 16 characters').optional().describe('internode secret (at least 16 characters; required with --peers or --join)'),
  /** a file holding the cluster secret (trailing newlines ignored); the usual way, keeps it off the command line @default undefined */
  clusterSecretFile: z.string().min(1).optional().describe('file holding the internode secret'),
  /** the cluster's name: gossip from a cluster with another name is refused @default "ringkv" */
  clusterName: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only').default('ringkv').describe('cluster name (gossip from another cluster is refused)'),
  /** gossip: one push-pull exchange and one heartbeat per interval (ms) @default 500 */
  gossipIntervalMs: z.number().int().min(10).max(60_000).default(500).describe('gossip interval (ms)'),
  /** failure detection: phi at which a member is suspected (Cassandra's phi_convict_threshold) @default 8 */
  phiThreshold: z.number().min(1).max(64).default(8).describe('failure detector phi threshold'),
  /** transfers: a partition handed to new replicas keeps serving this long before its data is dropped (ms) @default 60000 */
  drainGraceMs: z.number().int().min(0).default(60_000).describe('a handed-away partition serves this long before it is dropped (ms)'),
  /** hinted handoff: hints older than this are dropped and anti-entropy repairs instead (ms; Cassandra's max_hint_window) @default 10800000 */
  hintWindowMs: z.number().int().min(1000).default(3 * 3_600_000).describe('hints older than this are dropped (ms)'),
  /** hinted handoff: bytes of hints kept per down node @default 1073741824 */
  hintMaxBytesPerTarget: z.number().int().min(1024).default(1024 * 1024 * 1024).describe('hints kept per down node (bytes)'),
  /** hinted handoff: hints handed back per second per node (never below 1) @default 1000 */
  hintReplayObjectsPerSec: z.number().int().min(1).default(1000).describe('hints handed back per second per node'),
  /** a deleted key's tombstone is reaped only this long after the delete, once every replica holds it (ms; must exceed hintWindowMs; Cassandra's gc_grace_seconds) @default 864000000 */
  tombstoneGraceMs: z.number().int().min(1000).default(10 * 24 * 3_600_000).describe('tombstones are reaped only this long after the delete (ms)'),
  /** how often each node looks for tombstones to reap (ms, jittered) @default 3600000 */
  reapIntervalMs: z.number().int().min(1000).default(3_600_000).describe('how often tombstones are looked for (ms)'),
  /** run anti-entropy exchanges (tictac Merkle trees per partition) @default true */
  aaeEnabled: z.boolean().default(true).describe('run anti-entropy exchanges between replicas'),
  /** every replica pair of every partition exchanges trees within this period (ms) @default 600000 */
  aaeExchangePeriodMs: z.number().int().min(1000).default(600_000).describe('anti-entropy: every replica pair exchanged within (ms)'),
  /** every anti-entropy tree is rebuilt from a scan within this period (ms, jittered) @default 604800000 */
  aaeRebuildPeriodMs: z.number().int().min(60_000).default(7 * 24 * 3_600_000).describe('anti-entropy: trees rebuilt from a scan within (ms)'),
  /** anti-entropy repair traffic per node (bytes per second) @default 16777216 */
  aaeRepairBytesPerSec: z.number().int().min(1024).default(16 * 1024 * 1024).describe('anti-entropy: repair traffic limit (bytes/s)'),
  /** timeout of one anti-entropy request (ms) @default 10000 */
  aaeRequestTimeoutMs: z.number().int().min(1).max(600_000).default(10_000).describe('anti-entropy: request timeout (ms)'),
  /** log level @default "info" */
  logLevel: z.enum(LOG_LEVELS).default('info').describe('log level: trace | debug | info | warn | error | fatal | silent'),
  /** when set, HTTP (Authorization: Bearer) and RESP (AUTH) require it @default undefined */
  password: z.string().min(1).optional().describe('require this password on HTTP (Bearer) and RESP (AUTH)'),
} as const;

export type ConfigFieldName = keyof typeof configFields;

export const configSchema = z
  .strictObject(configFields)
  .superRefine((c, ctx) => {
    for (const field of ['r', 'w'] as const) {
      if (c[field] > c.n) {
        ctx.addIssue({ code: 'custom', path: [field], message: `must be at most n (${c.n})` });
      }
    }
    if (c.siblingWarnCount > c.siblingLimitCount) {
      ctx.addIssue({ code: 'custom', path: ['siblingWarnCount'], message: `must be at most siblingLimitCount (${c.siblingLimitCount})` });
    }
    // a hint older than the tombstone grace could bring a deleted version back after the reap
    if (c.tombstoneGraceMs <= c.hintWindowMs) {
      ctx.addIssue({ code: 'custom', path: ['tombstoneGraceMs'], message: `must exceed hintWindowMs (${c.hintWindowMs}): a hint older than the grace could bring a reaped delete back` });
    }
    if (c.clusterSecret !== undefined && c.clusterSecretFile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['clusterSecretFile'], message: 'give the cluster secret once: clusterSecret or clusterSecretFile, not both' });
    }
    // fail closed: a node that talks to peers must prove, and demand, the cluster secret
    const hasPeers = c.join !== undefined || c.peers.some((p) => p.id !== c.nodeId);
    if (hasPeers && c.clusterSecret === undefined && c.clusterSecretFile === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['clusterSecret'],
        message: 'a node with peers or join needs the cluster secret: --cluster-secret-file <path> (or --cluster-secret, RINGKV_CLUSTER_SECRET_FILE, RINGKV_CLUSTER_SECRET), the same on every node',
      });
    }
    // Every node must build the same ring, so this node's own entry in peers (if listed) must agree
    // with its zone and weight.
    const selfIndex = c.peers.findIndex((p) => p.id === c.nodeId);
    if (selfIndex >= 0) {
      const own = c.peers[selfIndex];
      if (own.zone !== undefined && c.zone !== undefined && own.zone !== c.zone) {
        ctx.addIssue({ code: 'custom', path: ['peers', selfIndex, 'zone'], message: `this node's own entry says zone "${own.zone}" but zone is "${c.zone}"` });
      }
      if (own.weight !== c.weight) {
        ctx.addIssue({ code: 'custom', path: ['peers', selfIndex, 'weight'], message: `this node's own entry says weight ${own.weight} but weight is ${c.weight}` });
      }
    }
    const ids = new Set<string>();
    c.peers.forEach((p, i) => {
      if (ids.has(p.id)) ctx.addIssue({ code: 'custom', path: ['peers', i, 'id'], message: `duplicate peer id "${p.id}"` });
      ids.add(p.id);
    });
  })
  .transform((c) => {
    const ownZone = c.zone ?? c.peers.find((p) => p.id === c.nodeId)?.zone;
    return { ...c, dataDir: c.dataDir ?? `./data/${c.nodeId}`, ...(ownZone !== undefined ? { zone: ownZone } : {}) };
  });

/** A fully validated and defaulted node configuration. */
export type RingkvConfig = z.output<typeof configSchema>;
/** What a config file (or any partial source) may contain. */
export type RingkvConfigInput = z.input<typeof configSchema>;

/** The kind of value a field holds, so string sources (env, flags) can be converted before validation. */
export type FieldKind = 'string' | 'number' | 'boolean' | 'peers';

export function fieldKind(name: ConfigFieldName): FieldKind {
  if (name === 'peers') return 'peers';
  let t: any = configFields[name];
  while (t.def.type === 'default' || t.def.type === 'optional' || t.def.type === 'pipe') t = t.def.innerType ?? t.def.in;
  return t.def.type === 'number' || t.def.type === 'boolean' ? t.def.type : 'string';
}

export function fieldDescription(name: ConfigFieldName): string {
  return configFields[name].description ?? name;
}
