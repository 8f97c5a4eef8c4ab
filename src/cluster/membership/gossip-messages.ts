/**
 * The gossip protocol's messages and their validators. Every message names its cluster; a message
 * naming another is refused with CLUSTER_MISMATCH before anything in it is looked at.
 *
 * Exchange (every interval, initiator A, random live peer B), push-pull scuttlebutt in three legs:
 *   A → B  gossip_syn   {digest, ring version}                       (request)
 *   B → A  gossip_ack   {rows A lacks, ids B wants, B's ring if newer, wantRing}  (its reply)
 *   A → B  gossip_ack2  {the rows B wanted, A's ring if B wanted it} (one-way)
 * Failure detection:
 *   gossip_heartbeat {the sender's own row}  (one-way, every interval, to the k members watching it)
 *   gossip_ping {} → gossip_pong {the target's own row}               (direct probe)
 *   gossip_ping_req {target, timeoutMs} → gossip_ping_req_ok {ok, row, refused} (indirect probe through a helper)
 * Dissemination of changes without waiting for the next round:
 *   gossip_push {rows, ring?}  (one-way rumor; a request when a stopping node wants to know it landed)
 */
import { RingkvError } from '../../core/errors.js';
import type { NodeId } from '../../core/member.js';
import { MAX_DIGEST_ROWS, parseDigest, type Digest } from '../../core/membership/digest.js';
import { isValidNodeId, parseMemberEntry, type MemberEntry } from '../../core/membership/member-entry.js';
import { parseRingEpoch, parseRingVersion, type RingEpoch, type RingEpochWire, type RingVersion } from '../../core/membership/ring-epoch.js';
import type { Message } from '../runtime.js';

export const GOSSIP_TYPES = Object.freeze({
  syn: 'gossip_syn',
  ack: 'gossip_ack',
  ack2: 'gossip_ack2',
  push: 'gossip_push',
  heartbeat: 'gossip_heartbeat',
  pushOk: 'gossip_push_ok',
  ping: 'gossip_ping',
  pong: 'gossip_pong',
  pingReq: 'gossip_ping_req',
  pingReqOk: 'gossip_ping_req_ok',
});

/** the longest indirect probe a helper agrees to wait for */
export const MAX_PROBE_TIMEOUT_MS = 60_000;

export interface GossipSyn {
  digest: Digest;
  ring: RingVersion;
}

export interface GossipAck {
  entries: MemberEntry[];
  requests: NodeId[];
  ring?: RingEpoch;
  wantRing: boolean;
}

export interface GossipRows {
  entries: MemberEntry[];
  ring?: RingEpoch;
}

export interface PingReq {
  target: NodeId;
  timeoutMs: number;
}

export interface PingReqOk {
  ok: boolean;
  entry?: MemberEntry;
  /** not ok because the target refused the connection (its process is gone), not merely silent */
  refused?: boolean;
}

function malformed(what: string, why: string): RingkvError {
  return new RingkvError('MALFORMED_REQUEST', `malformed ${what}: ${why}`);
}

/** Builds the validators of one cluster: each checks the cluster name first, then the shape. */
export function gossipCodec(clusterName: string) {
  const checkCluster = (msg: Message): void => {
    if (msg.cluster !== clusterName) {
      const theirs = typeof msg.cluster === 'string' ? JSON.stringify(msg.cluster.slice(0, 64)) : 'no cluster name';
      throw new RingkvError('CLUSTER_MISMATCH', `gossip from another cluster (${theirs}, this is ${JSON.stringify(clusterName)})`);
    }
  };
  const rows = (what: string, raw: unknown): MemberEntry[] => {
    if (!Array.isArray(raw)) throw malformed(what, 'entries must be an array');
    if (raw.length > MAX_DIGEST_ROWS) throw malformed(what, `${raw.length} entries, the limit is ${MAX_DIGEST_ROWS}`);
    return raw.map(parseMemberEntry);
  };
  const optionalRing = (raw: unknown): RingEpoch | undefined => (raw === undefined || raw === null ? undefined : parseRingEpoch(raw));
  const envelope = (type: string, body: Record<string, unknown>): Message => ({ type, cluster: clusterName, ...body });

  return {
    clusterName,
    checkCluster,

    syn: (s: { digest: Digest; ring: RingVersion }): Message => envelope(GOSSIP_TYPES.syn, { digest: s.digest, ring: s.ring }),
    parseSyn(msg: Message): Message & GossipSyn {
      checkCluster(msg);
      return { ...msg, digest: parseDigest(msg.digest), ring: parseRingVersion(msg.ring) };
    },

    ack: (a: { entries: MemberEntry[]; requests: NodeId[]; ring?: RingEpochWire; wantRing: boolean }): Message =>
      envelope(GOSSIP_TYPES.ack, { entries: a.entries, requests: a.requests, ring: a.ring ?? null, wantRing: a.wantRing }),
    parseAck(msg: Message): GossipAck {
      if (msg.type !== GOSSIP_TYPES.ack) throw malformed('gossip_ack', `unexpected reply type ${String(msg.type)}`);
      checkCluster(msg);
      const requests = msg.requests;
      if (!Array.isArray(requests) || requests.length > MAX_DIGEST_ROWS || !requests.every(isValidNodeId)) {
        throw malformed('gossip_ack', 'requests must be an array of node ids');
      }
      if (typeof msg.wantRing !== 'boolean') throw malformed('gossip_ack', 'wantRing must be a boolean');
      return { entries: rows('gossip_ack', msg.entries), requests: requests as NodeId[], ring: optionalRing(msg.ring), wantRing: msg.wantRing };
    },

    rows: (type: string, r: { entries: MemberEntry[]; ring?: RingEpochWire }): Message => envelope(type, { entries: r.entries, ring: r.ring ?? null }),
    parseRows(msg: Message): Message & GossipRows {
      checkCluster(msg);
      return { ...msg, entries: rows(String(msg.type), msg.entries), ring: optionalRing(msg.ring) };
    },

    ping: (): Message => envelope(GOSSIP_TYPES.ping, {}),
    parsePing(msg: Message): Message {
      checkCluster(msg);
      return msg;
    },
    pong: (entry: MemberEntry): Message => envelope(GOSSIP_TYPES.pong, { entry }),
    parsePong(msg: Message): MemberEntry {
      if (msg.type !== GOSSIP_TYPES.pong) throw malformed('gossip_pong', `unexpected reply type ${String(msg.type)}`);
      checkCluster(msg);
      return parseMemberEntry(msg.entry);
    },

    pingReq: (r: PingReq): Message => envelope(GOSSIP_TYPES.pingReq, { target: r.target, timeoutMs: r.timeoutMs }),
    parsePingReq(msg: Message): Message & PingReq {
      checkCluster(msg);
      if (!isValidNodeId(msg.target)) throw malformed('gossip_ping_req', 'bad target');
      const t = msg.timeoutMs;
      if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > MAX_PROBE_TIMEOUT_MS) {
        throw malformed('gossip_ping_req', `timeoutMs must be in (0, ${MAX_PROBE_TIMEOUT_MS}]`);
      }
      return { ...msg, target: msg.target, timeoutMs: t };
    },
    pingReqOk: (r: PingReqOk): Message => envelope(GOSSIP_TYPES.pingReqOk, { ok: r.ok, entry: r.entry ?? null, refused: r.refused ?? false }),
    parsePingReqOk(msg: Message): PingReqOk {
      if (msg.type !== GOSSIP_TYPES.pingReqOk) throw malformed('gossip_ping_req_ok', `unexpected reply type ${String(msg.type)}`);
      checkCluster(msg);
      if (typeof msg.ok !== 'boolean') throw malformed('gossip_ping_req_ok', 'ok must be a boolean');
      if (msg.ok && msg.entry !== null && msg.entry !== undefined) return { ok: true, entry: parseMemberEntry(msg.entry) };
      return { ok: false, refused: msg.refused === true };
    },

    pushOk: (): Message => envelope(GOSSIP_TYPES.pushOk, {}),
  };
}

export type GossipCodec = ReturnType<typeof gossipCodec>;
