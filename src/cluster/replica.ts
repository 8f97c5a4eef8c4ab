import { RingkvError } from '../core/errors.js';
import type { NodeId } from '../core/member.js';
import type { CausalContext } from '../core/version/context-token.js';
import { hlcNext, hlcObserve, type Hlc, ZERO_HLC } from '../core/version/hlc.js';
import { pnAdd, pnMerge, type PnCounter } from '../core/version/pn-counter.js';
import { applyWrite, contextOfRead, liveSiblings, sameVersion, syncObjects, type SiblingValue, type VersionedObject } from '../core/version/versioned-object.js';
import type { Engine } from '../storage/engine.js';
import type { ClusterConfig } from './cluster-config.js';
import { KeyLock } from './key-lock.js';
import type { Mutation } from './messages.js';
import { decodeObject, encodeObject, type EncodedObject } from './object-codec.js';
import type { Clock, Logger } from './runtime.js';

/**
 * One node's replica store: reads, merges and minted writes against the engine. Every
 * read-merge-write of a key runs under that key's lock, so concurrent merges never drop a sibling.
 */
export class Replica {
  private readonly lock = new KeyLock();
  private lastHlc: Hlc = ZERO_HLC;

  constructor(
    private readonly self: NodeId,
    private readonly engine: Engine,
    private readonly clock: Clock,
    private readonly config: ClusterConfig,
    private readonly logger: Logger,
  ) {}

  async read(partition: number, key: Uint8Array): Promise<VersionedObject | undefined> {
    const bytes = await this.engine.get(partition, key);
    return bytes === undefined ? undefined : decodeObject(bytes, `engine (partition ${partition})`);
  }

  /** The object as stored, still encoded: what a peer's read is answered with (the reader validates it). */
  readEncoded(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.engine.get(partition, key);
  }

  /**
   * Merges a peer's object into the local copy; returns the result. incomingBytes, when given, is
   * incoming's encoding: stored as it is when the merge leaves incoming unchanged (the common case
   * of replicating a fresh write), which saves encoding the object again.
   */
  merge(partition: number, key: Uint8Array, incoming: VersionedObject, incomingBytes?: Uint8Array): Promise<VersionedObject> {
    return this.lock.run(slot(partition, key), async () => {
      const local = await this.read(partition, key);
      const merged = local ? syncObjects(local, incoming) : syncObjects({ vv: [], siblings: [] }, incoming);
      for (const s of incoming.siblings) this.lastHlc = hlcObserve(this.lastHlc, s.hlc);
      if (!local || !sameVersion(local, merged)) {
        const bytes = incomingBytes !== undefined && mergeKeptIncoming(merged, incoming) ? incomingBytes : encodeObject(merged);
        await this.engine.put(partition, key, bytes);
      }
      this.warnOnSiblings(key, merged);
      return merged;
    });
  }

  /** Mints a new version here (this node must be a replica of the key) and stores it; returns it with its encoding. */
  mint(partition: number, key: Uint8Array, mutation: Mutation, context: CausalContext): Promise<EncodedObject> {
    return this.lock.run(slot(partition, key), async () => {
      const local = await this.read(partition, key);
      const now = this.clock.nowMs();
      this.lastHlc = hlcNext(this.lastHlc, now);
      const { value, effectiveContext } = this.resolveMutation(local, mutation, context);
      const written = applyWrite(local, effectiveContext, this.self, value, this.lastHlc, now, this.config);
      const bytes = encodeObject(written);
      await this.engine.put(partition, key, bytes);
      this.warnOnSiblings(key, written);
      return { object: written, bytes };
    });
  }

  /**
   * A counter increment folds every local sibling into one PN-counter and supersedes them all; an
   * integer-looking plain value is taken as the counter's starting point, as Redis INCR does.
   */
  private resolveMutation(local: VersionedObject | undefined, mutation: Mutation, context: CausalContext): { value: SiblingValue; effectiveContext: CausalContext } {
    if (mutation.kind === 'set') return { value: mutation.value, effectiveContext: context };
    let counter: PnCounter = [];
    for (const s of local ? liveSiblings(local) : []) {
      if (s.value.kind === 'counter') counter = pnMerge(counter, s.value.counter);
      else if (s.value.kind === 'bytes') {
        const text = Buffer.from(s.value.bytes).toString('latin1');
        if (!/^-?\d{1,20}$/.test(text)) throw new RingkvError('NOT_AN_INTEGER', 'value is not an integer or out of range');
        counter = pnAdd(counter, `${s.dot.node}#${s.dot.counter}`, BigInt(text));
      }
    }
    return { value: { kind: 'counter', counter: pnAdd(counter, this.self, BigInt(mutation.delta)) }, effectiveContext: local ? contextOfRead(local) : context };
  }

  private warnOnSiblings(key: Uint8Array, obj: VersionedObject): void {
    const live = liveSiblings(obj).length;
    if (live > this.config.siblingWarnCount) {
      this.logger.warn({ key: Buffer.from(key).toString('base64url'), siblings: live, warnAt: this.config.siblingWarnCount }, 'key has many siblings');
    }
  }
}

/**
 * True when merged holds exactly incoming's content: the same sibling objects in the same order and
 * the same version vector entries, and incoming carries nothing else. Then incoming's encoding
 * decodes to merged and can be stored in its place.
 */
function mergeKeptIncoming(merged: VersionedObject, incoming: VersionedObject): boolean {
  if (merged.siblings.length !== incoming.siblings.length || merged.vv.length !== incoming.vv.length) return false;
  for (let i = 0; i < merged.siblings.length; i++) if (merged.siblings[i] !== incoming.siblings[i]) return false;
  for (let i = 0; i < merged.vv.length; i++) {
    const a = merged.vv[i];
    const b = incoming.vv[i];
    if (a.node !== b.node || a.counter !== b.counter || a.updatedMs !== b.updatedMs) return false;
  }
  return Object.keys(incoming).length === 2;
}

export function slot(partition: number, key: Uint8Array): string {
  return `${partition}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')}`;
}
