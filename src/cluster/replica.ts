import type { CausalContext } from '../core/version/context-token.js';
import { hlcCompare, hlcNext, type Hlc } from '../core/version/hlc.js';
import { vvGet, type Dot } from '../core/version/version-vector.js';
import { actorBehind, actorForKey, contextOfRead, isOwnActor, applyIncrement, applyWrite, EMPTY_OBJECT, liveSiblings, sameVersion, syncObjects, type VersionedObject } from '../core/version/versioned-object.js';
import type { Engine } from '../storage/engine.js';
import type { ClusterConfig } from './cluster-config.js';
import { KeyLock } from './key-lock.js';
import type { Mutation } from './messages.js';
import type { NodeIdentity } from './node-identity.js';
import { decodeObject, encodeObject, type EncodedObject } from './object-codec.js';
import type { ReplicationStats } from './replication-stats.js';
import type { Clock, Logger } from './runtime.js';

/** told of every object the replica stores, with what it held before (anti-entropy keeps its trees with it) */
export type StoreObserver = (partition: number, key: Uint8Array, before: VersionedObject | undefined, after: VersionedObject | undefined) => void;

/** A version minted here: the object stored, its encoding, and the new version's dot. */
export interface MintedObject extends EncodedObject {
  dot: Dot;
}

/**
 * One node's replica store: reads, merges and minted writes against the engine. Every
 * read-merge-write of a key runs under that key's lock, so concurrent merges never drop a sibling.
 * Versions are minted under the node's current actor (NodeIdentity), never under one whose history
 * this replica may have lost.
 */
export class Replica {
  private readonly lock = new KeyLock();
  private lastHlc: Hlc;

  constructor(
    private readonly engine: Engine,
    private readonly clock: Clock,
    private readonly config: ClusterConfig,
    private readonly logger: Logger,
    private readonly identity: NodeIdentity,
    private readonly stats: ReplicationStats,
    private readonly onStored?: StoreObserver,
  ) {
    // the HLC never goes backwards across restarts: start at the persisted ceiling
    this.lastHlc = { wallMs: identity.hlcFloorMs, logical: 0 };
  }

  async read(partition: number, key: Uint8Array): Promise<VersionedObject | undefined> {
    const bytes = await this.engine.get(partition, key);
    return bytes === undefined ? undefined : decodeObject(bytes, `engine (partition ${partition})`);
  }

  /** the stored object, read under the key's lock: after any write of the key in progress */
  readLocked(partition: number, key: Uint8Array): Promise<VersionedObject | undefined> {
    return this.lock.run(slot(partition, key), () => this.read(partition, key));
  }

  /**
   * Deletes every key of a partition this node no longer replicates (its new replicas have it), each
   * under its key lock; returns how many. A key written again later is minted under a fresh per-key
   * actor (it is absent here), so the dropped history can never be reused.
   */
  async dropPartition(partition: number): Promise<number> {
    const keys: Uint8Array[] = [];
    for await (const e of this.engine.scan(partition, partition + 1)) keys.push(e.key);
    for (const key of keys) await this.lock.run(slot(partition, key), () => this.engine.delete(partition, key));
    return keys.length;
  }

  /** deletes the key's object if `still` holds for it, under the key lock (tombstone reaping); true if deleted */
  deleteIf(partition: number, key: Uint8Array, still: (obj: VersionedObject) => boolean): Promise<boolean> {
    return this.lock.run(slot(partition, key), async () => {
      const local = await this.read(partition, key);
      if (!local || !still(local)) return false;
      await this.engine.delete(partition, key);
      this.onStored?.(partition, key, local, undefined);
      return true;
    });
  }

  /** keys of a partition with a read-merge-write in progress */
  keysInFlight(partition: number): Uint8Array[] {
    const prefix = `${partition}:`;
    const out: Uint8Array[] = [];
    for (const s of this.lock.activeSlots()) if (s.startsWith(prefix)) out.push(Buffer.from(s.slice(prefix.length), 'latin1'));
    return out;
  }

  /** The object as stored, still encoded: what a peer's read is answered with (the reader validates it). */
  readEncoded(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.engine.get(partition, key);
  }

  /**
   * Merges a peer's object into the local copy; returns the result and its encoding. incomingBytes,
   * when given, is incoming's encoding: stored as it is when the merge leaves incoming unchanged (the
   * common case of replicating a fresh write), which saves encoding the object again.
   */
  merge(partition: number, key: Uint8Array, incoming: VersionedObject, incomingBytes?: Uint8Array): Promise<EncodedObject> {
    return this.lock.run(slot(partition, key), async () => {
      const localBytes = await this.engine.get(partition, key);
      const local = localBytes === undefined ? undefined : decodeObject(localBytes, `engine (partition ${partition})`);
      const merged = syncObjects(local ?? EMPTY_OBJECT, incoming);
      this.observeHlcs(incoming);
      // A peer holding dots of our current actors that we do not: our copy went backwards (lost data);
      // minting under those actors again could reuse one of those dots.
      const base = this.identity.actor;
      for (const e of incoming.vv) {
        if (isOwnActor(e.node, base) && e.counter > (local ? vvGet(local.vv, e.node) : 0)) {
          this.identity.retireActor(`a peer holds versions of ${e.node} this replica lost`);
          break;
        }
      }
      let bytes: Uint8Array;
      if (!local || !sameVersion(local, merged)) {
        bytes = incomingBytes !== undefined && mergeKeptIncoming(merged, incoming) ? incomingBytes : encodeObject(merged);
        await this.engine.put(partition, key, bytes);
        this.onStored?.(partition, key, local, merged);
      } else bytes = localBytes!;
      this.warnOnSiblings(key, merged);
      return { object: merged, bytes };
    });
  }

  /** Mints a new version here (this node must be a replica of the key) and stores it. */
  mint(partition: number, key: Uint8Array, mutation: Mutation, context: CausalContext): Promise<MintedObject> {
    return this.lock.run(slot(partition, key), async () => {
      const local = await this.read(partition, key);
      const hlc = await this.nextHlc();
      // after the read: a read that found a corrupt table has just set it aside
      let actor = actorForKey(local, this.identity.currentActor(), hlc);
      if (actorBehind(local, context, actor)) {
        this.identity.retireActor(`the stored copy of a key is behind versions ${actor} minted (state went backwards)`);
        actor = actorForKey(local, this.identity.actor, hlc);
      }
      const written =
        mutation.kind === 'increment'
          ? applyIncrement(local, actor, BigInt(mutation.delta), hlc, this.config)
          : applyWrite(local, mutation.overwrite ? (local ? contextOfRead(local) : context) : context, actor, mutation.value, hlc, this.config);
      const bytes = encodeObject(written);
      await this.engine.put(partition, key, bytes);
      this.onStored?.(partition, key, local, written);
      this.warnOnSiblings(key, written);
      return { object: written, bytes, dot: { node: actor, counter: vvGet(written.vv, actor) } };
    });
  }

  /** the next HLC for a version minted here, below the persisted ceiling (raised durably when needed) */
  private async nextHlc(): Promise<Hlc> {
    const hlc = hlcNext(this.lastHlc, this.clock.nowMs());
    this.lastHlc = hlc;
    const raising = this.identity.reserveHlc(hlc.wallMs);
    if (raising) await raising;
    return hlc;
  }

  /**
   * Follows the HLCs of versions from elsewhere so causally later writes sort later — except a
   * timestamp more than maxClockOffsetMs ahead of this node's clock: that peer's clock is wrong, and
   * adopting it would drag every later write here ahead too. It is clamped and counted.
   */
  private observeHlcs(incoming: VersionedObject): void {
    const limitMs = this.clock.nowMs() + this.config.maxClockOffsetMs;
    for (const s of incoming.siblings) {
      let seen = s.hlc;
      if (seen.wallMs > limitMs) {
        this.stats.clockOffsetClamps++;
        seen = { wallMs: limitMs, logical: 0 };
      }
      if (hlcCompare(seen, this.lastHlc) > 0) this.lastHlc = { wallMs: seen.wallMs, logical: seen.logical };
    }
  }

  private warnOnSiblings(key: Uint8Array, obj: VersionedObject): void {
    const live = liveSiblings(obj).length;
    if (live > this.config.siblingWarnCount) {
      this.logger.warn({ key: Buffer.from(key).toString('base64url'), siblings: live, warnAt: this.config.siblingWarnCount }, 'key has many siblings');
    }
    if (obj.vv.length > this.config.vclockWarnCount) {
      this.stats.largeVersionVectors++;
      this.logger.warn({ key: Buffer.from(key).toString('base64url'), entries: obj.vv.length, warnAt: this.config.vclockWarnCount }, 'key has a large version vector');
    }
  }
}

/**
 * True when merged holds exactly incoming's content: the same sibling objects in the same order, the
 * same version vector entries, the same delete time and nothing else. Then incoming's encoding
 * decodes to merged and can be stored in its place.
 */
function mergeKeptIncoming(merged: VersionedObject, incoming: VersionedObject): boolean {
  if (merged.siblings.length !== incoming.siblings.length || merged.vv.length !== incoming.vv.length) return false;
  if (merged.seen !== incoming.seen || merged.counterFloor !== incoming.counterFloor || merged.deletedAtMs !== incoming.deletedAtMs) return false;
  for (let i = 0; i < merged.siblings.length; i++) if (merged.siblings[i] !== incoming.siblings[i]) return false;
  for (let i = 0; i < merged.vv.length; i++) {
    const a = merged.vv[i];
    const b = incoming.vv[i];
    if (a.node !== b.node || a.counter !== b.counter) return false;
  }
  return Object.keys(incoming).length === Object.keys(merged).length;
}

export function slot(partition: number, key: Uint8Array): string {
  return `${partition}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')}`;
}
