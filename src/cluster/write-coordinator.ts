import { RingkvError, toRingkvError } from '../core/errors.js';
import type { NodeId } from '../core/member.js';
import type { CausalContext } from '../core/version/context-token.js';
import type { Dot } from '../core/version/version-vector.js';
import { objectHasSeen, syncObjects, type VersionedObject } from '../core/version/versioned-object.js';
import type { ClusterConfig } from './cluster-config.js';
import { bad, requireDot, requireObjectBytes, type CoordinateWriteMsg, type Mutation, type ReplicateMsg } from './messages.js';
import { decodeObject, type EncodedObject } from './object-codec.js';
import { awaitQuorum } from './quorum.js';
import type { RecentWrites } from './recent-writes.js';
import type { MintedObject, Replica } from './replica.js';
import type { CoordinatedOperation, ReplicationObserver } from './replication-observer.js';
import type { ReplicationStats } from './replication-stats.js';
import type { HintStore } from './hints/hint-store.js';
import type { Clock, Logger, Message, Random, Transport } from './runtime.js';

/** where a key lives: its partition and its N primary replicas, first = preferred */
export interface Placement {
  partition: number;
  replicas: readonly NodeId[];
  /**
   * during a ring change: the replicas under the pending ring, when they differ. Writes then need W
   * acknowledgements from each ring's replicas (a joint quorum), so whichever ring reads come from
   * after the change, they meet every acknowledged write.
   */
  pending?: readonly NodeId[];
  /** the nodes after the primaries on the preference list: stand-ins for primaries that are down */
  fallbacks?: readonly NodeId[];
}

export interface WriteRequest {
  key: Uint8Array;
  mutation: Mutation;
  context: CausalContext;
  w: number;
  timeoutMs: number;
  /** the client's X-Ringkv-Write-Id, if it sent one */
  clientWriteId?: string;
  /** strict: this many of the acknowledgements must come from primaries (Riak's pw); 0 = sloppy */
  pw?: number;
}

/** what a coordinated write answers: its dot, and the merge of what the acknowledging replicas hold */
export interface WriteOutcome {
  dot: Dot;
  merged: VersionedObject;
  /** merged's encoding, when at hand */
  mergedBytes?: Uint8Array;
}

export interface WriteCoordinatorDeps {
  self: NodeId;
  config: ClusterConfig;
  clock: Clock;
  random: Random;
  transport: Transport;
  replica: Replica;
  recentWrites: RecentWrites;
  stats: ReplicationStats;
  logger: Logger;
  /** the ring epoch of this node's view, carried by replica messages */
  epoch(): number;
  /** false for a peer the failure detector suspects or has marked down (absent: every peer is live) */
  isLive?(id: NodeId): boolean;
  /** where this node keeps hints for replicas that are down (absent: no sloppy quorum) */
  hints?: HintStore;
  /** request latencies and PBS legs (optional; see replication-observer.ts) */
  observer?: ReplicationObserver;
}

/** between retries of a forward whose outcome is unknown (the same replica is asked again) */
const FORWARD_RETRY_DELAY_MS = 50;

/**
 * Coordinates writes. A version is minted exactly once per write id, on a replica of the key — this
 * node when it is one, else the first replica that accepts the forwarded write (as Riak forwards to
 * a vnode) — stored there, then sent whole to the other replicas; the write is acknowledged after W.
 *
 * Exactly once: a forward that certainly did not arrive (PEER_UNREACHABLE) moves on to the next
 * replica; one whose outcome is unknown (CONNECTION_LOST, TIMEOUT) is retried only at the same
 * replica with the same write id, which re-sends the version it minted instead of minting another —
 * and if that replica stays unreachable the client gets a 504 saying the write may have been applied.
 */
export class WriteCoordinator {
  private writeSeq = 0;

  constructor(private readonly deps: WriteCoordinatorDeps) {}

  async write(placement: Placement, req: WriteRequest): Promise<WriteOutcome> {
    const done = this.deps.observer?.requestStarted(operationOf(req.mutation), req.w, placement.replicas.includes(this.deps.self));
    if (done === undefined) return this.route(placement, req);
    try {
      const outcome = await this.route(placement, req);
      done();
      return outcome;
    } catch (e) {
      done(e);
      throw e;
    }
  }

  private route(placement: Placement, req: WriteRequest): Promise<WriteOutcome> {
    const { self, random } = this.deps;
    // a client's id is namespaced apart from the ids coordinators make up
    const clientId = req.clientWriteId !== undefined ? `c:${req.clientWriteId}` : undefined;
    if (placement.replicas.includes(self)) return this.coordinate(placement, req, clientId);
    return this.forward(placement, req, clientId ?? `${self}/${random.int(2 ** 31).toString(36)}/${++this.writeSeq}`);
  }

  /**
   * On a replica of the key: mint (once per write id) and replicate to W. A retry of a known write id
   * re-sends this replica's current copy, which holds (or supersedes) the version minted the first time.
   * writeId is undefined for a write this node coordinates itself with no client id: nothing can
   * retry it, so it is not remembered.
   */
  async coordinate(placement: Placement, req: WriteRequest, writeId: string | undefined): Promise<WriteOutcome> {
    const { replica, recentWrites, clock, self, transport } = this.deps;
    const { partition, replicas } = placement;
    let minted: MintedObject | undefined;
    const mint = async (): Promise<Dot> => {
      minted = await replica.mint(partition, req.key, req.mutation, req.context);
      return minted.dot;
    };
    const dot = await (writeId === undefined ? mint() : recentWrites.mintOnce(writeId, partition, req.key, clock.monotonicMs(), mint).dot);
    let local: EncodedObject;
    if (minted) local = minted;
    else {
      this.deps.stats.writeRetriesDeduplicated++;
      const bytes = await replica.readEncoded(partition, req.key);
      const object = bytes && decodeObject(bytes, 'engine');
      if (!bytes || !object || !objectHasSeen(object, dot)) {
        throw new RingkvError('TIMEOUT', `write ${writeId ?? ''} was minted here as ${dot.counter}@${dot.node} but this replica no longer holds it; the write may have been applied`);
      }
      local = { object, bytes };
    }
    const wantObject = req.mutation.kind === 'increment';
    // the other replicas learn a client's write id, so a retry through them is not minted again
    const clientId = writeId?.startsWith('c:') ? { writeId, dot } : {};
    const msg: ReplicateMsg = { type: 'replicate', partition, key: req.key, object: local.bytes, epoch: this.deps.epoch(), ...clientId, ...(wantObject ? { wantObject: true } : {}) };
    const calls: Array<{ from: NodeId; promise: Promise<VersionedObject | undefined> }> = [{ from: self, promise: Promise.resolve(local.object) }];
    const sloppy = this.sloppyTargets(placement);
    const targets = [...new Set([...replicas.filter((id) => !sloppy.down.includes(id)), ...(placement.pending ?? [])])];
    const hints = this.deps.hints;
    const send = (to: NodeId, m: ReplicateMsg, objectWanted: boolean): void => {
      if (to === self) return;
      const onReply = this.deps.observer?.replicaRequestSent('write', to);
      const promise = transport.request(to, m, req.timeoutMs).then((reply) => {
        onReply?.(reply);
        return ackedObject(reply, to, objectWanted);
      });
      calls.push({ from: to, promise });
      // a replica of the key that did not take the write (down but not yet detected, cut off, timed
      // out) gets a hint kept here, whatever the quorum's outcome: handed back when it is seen up
      if (hints && m.hintFor === undefined) {
        promise.catch((e: unknown) => {
          const err = toRingkvError(e);
          if (err.code === 'NOT_A_REPLICA' || err.code === 'MALFORMED_REQUEST') return;
          hints.add(to, partition, req.key, local.bytes, clock.nowMs()).catch((he) => this.deps.logger.warn({ to, err: toRingkvError(he).message }, 'could not keep a hint for a replica that missed a write'));
        });
      }
    };
    for (const to of targets) send(to, msg, wantObject);
    // a stand-in stores the object as a hint for the primary it stands in for; it counts toward W
    // (its plain ack brings no object: an increment's answer merges what the replicas acknowledged)
    for (const [standIn, forId] of sloppy.standIns) send(standIn, { ...msg, hintFor: forId }, false);
    // no stand-in left (a small cluster): this node keeps the hint itself — durably, and it does not
    // count toward W (this node already did)
    if (sloppy.keepHere.length > 0 && this.deps.hints) {
      await Promise.all(sloppy.keepHere.map((d) => this.deps.hints!.add(d, partition, req.key, local.bytes, clock.nowMs())));
    }
    const groups = [
      ...(placement.pending ? [{ members: replicas, needed: req.w }, { members: placement.pending, needed: Math.min(req.w, placement.pending.length) }] : []),
      ...(req.pw ? [{ members: replicas, needed: req.pw }] : []),
    ];
    const outcome = await awaitQuorum(clock, calls, req.w, req.timeoutMs, 'write', groups);
    if (!wantObject) return { dot, merged: local.object, mergedBytes: local.bytes };
    // a counter's answer includes every increment acknowledged before it: with W + W > N some
    // acknowledging replica holds each of them, so merge what they all hold
    let merged = local.object;
    for (const r of outcome.replies) if (r.reply && r.reply !== local.object) merged = syncObjects(merged, r.reply);
    return { dot, merged };
  }

  /**
   * Sloppy quorum: primaries the failure detector believes down are not asked; for each, the next
   * live node after the primaries on the preference list stands in (stores a hint), and when there is
   * none left this node keeps the hint. Without a detector or a hint store nothing is sloppy.
   */
  private sloppyTargets(placement: Placement): { down: NodeId[]; standIns: Map<NodeId, NodeId>; keepHere: NodeId[] } {
    const { isLive, hints, self } = this.deps;
    const out = { down: [] as NodeId[], standIns: new Map<NodeId, NodeId>(), keepHere: [] as NodeId[] };
    if (!isLive || !hints) return out;
    out.down = placement.replicas.filter((id) => id !== self && !isLive(id));
    const spare = (placement.fallbacks ?? []).filter((id) => id !== self && isLive(id) && !placement.replicas.includes(id) && !(placement.pending ?? []).includes(id));
    for (const d of out.down) {
      const s = spare.shift();
      if (s !== undefined) out.standIns.set(s, d);
      else out.keepHere.push(d);
    }
    return out;
  }

  /** Not a replica: hand the write to a replica, exactly once (see the class comment). */
  private async forward(placement: Placement, req: WriteRequest, writeId: string): Promise<WriteOutcome> {
    const { clock, transport } = this.deps;
    // deadlines on the monotonic clock: a wall clock stepped back must not stretch a request
    const startedMs = clock.monotonicMs();
    const deadline = startedMs + req.timeoutMs;
    const refused: string[] = [];
    let attempt = 0;
    let next = 0;
    // replicas the detector believes live first (a forward to a paused replica would wait out the
    // timeout, then could only be retried there), in preference order otherwise
    const live = this.deps.isLive;
    const targets = live ? [...placement.replicas.filter((id) => live(id)), ...placement.replicas.filter((id) => !live(id))] : placement.replicas;
    /** the replica that may hold the write: the only one that may be asked again */
    let uncertain: { target: NodeId; why: string } | undefined;
    for (;;) {
      const remaining = Math.floor(deadline - clock.monotonicMs());
      if (remaining < 1) break;
      const target = uncertain?.target ?? targets[next];
      if (target === undefined) {
        throw new RingkvError('QUORUM_NOT_MET', `write quorum not met: 0 of ${req.w} required replicas acknowledged — no replica of the key could be reached (${refused.join('; ')}); nothing was stored`, {
          answered: 0,
          needed: req.w,
        });
      }
      const msg: CoordinateWriteMsg = {
        type: 'coordinate_write',
        writeId,
        key: req.key,
        mutation: req.mutation,
        context: req.context.vv,
        dots: req.context.dots,
        ...(req.context.counter ? { counter: req.context.counter } : {}),
        w: req.w,
        ...(req.pw ? { pw: req.pw } : {}),
        timeoutMs: remaining,
        epoch: this.deps.epoch(),
        // a retry (at the same replica) tells it how old the write is, so it can tell "never arrived"
        // from "forgotten"; a replica tried after others certainly did not get it is a first attempt
        attempt: uncertain ? ++attempt : (attempt = 1),
        writeAgeMs: Math.ceil(clock.monotonicMs() - startedMs),
      };
      try {
        const reply = await transport.request(target, msg, remaining);
        if (reply.type !== 'coordinate_write_ok') throw bad(`unexpected reply ${reply.type} to coordinate_write`);
        const mergedBytes = requireObjectBytes(reply);
        return { dot: requireDot(reply.dot, 'coordinate_write_ok'), merged: decodeObject(mergedBytes, target), mergedBytes };
      } catch (e) {
        const err = toRingkvError(e);
        // certainly not stored there: not delivered, or refused before minting (its disk is full, or
        // it does not hold the key at its ring epoch) — the next replica may take it
        const certainlyNotStored = err.code === 'PEER_UNREACHABLE' || err.code === 'STORAGE_FULL' || err.code === 'NOT_A_REPLICA';
        if (certainlyNotStored && !uncertain) {
          refused.push(`${target}: ${err.message}`);
          next++;
          continue;
        }
        if (err.code !== 'PEER_UNREACHABLE' && err.code !== 'CONNECTION_LOST' && err.code !== 'TIMEOUT') throw err;
        // the replica may hold the write: ask it again (same id) while time remains
        if (err.code !== 'PEER_UNREACHABLE' || !uncertain) uncertain = { target, why: err.message };
        await this.sleep(Math.min(FORWARD_RETRY_DELAY_MS, Math.max(0, deadline - clock.monotonicMs())));
      }
    }
    const where = uncertain ? ` (the outcome at ${uncertain.target} is unknown: ${uncertain.why})` : '';
    throw new RingkvError('TIMEOUT', `write timed out after ${req.timeoutMs} ms${where}; the write may have been applied`, { answered: 0, needed: req.w });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.deps.clock.setTimer(ms, resolve));
  }
}

function operationOf(m: Mutation): CoordinatedOperation {
  if (m.kind === 'increment') return 'increment';
  return m.value.kind === 'tombstone' ? 'delete' : 'put';
}

/** a replicate's ack: the replica's merged object when it was asked for one */
function ackedObject(reply: Message, from: NodeId, wanted: boolean): VersionedObject | undefined {
  if (reply.type !== 'ack') throw bad(`unexpected reply ${reply.type} to replicate`);
  if (!wanted) return undefined;
  return decodeObject(requireObjectBytes(reply), from);
}
