import { RingkvError } from '../core/errors.js';
import type { Dot } from '../core/version/version-vector.js';

/** What a replica remembers of a write id: which key it wrote, and the dot it was minted under. */
export interface KnownWrite {
  partition: number;
  key: Uint8Array;
  /** the dot minted for the write; undefined while the mint is still running */
  dot: Dot | undefined;
}

export interface RecentWritesLimits {
  /** forget the oldest ids past this many bytes (ids, keys, dots) @default 8 MiB */
  maxBytes: number;
  /** forget ids older than this @default 600000 */
  maxAgeMs: number;
}

export interface RecentWritesStats {
  entries: number;
  bytes: number;
  /** ids forgotten to stay within maxBytes */
  evictedForBytes: number;
  /** ids forgotten for age */
  expired: number;
}

interface Entry extends KnownWrite {
  atMs: number;
  sizeBytes: number;
  /** the running mint, shared by a duplicate that arrives meanwhile */
  pending?: Promise<Dot>;
}

/** rough per-entry overhead of the map slot and the object, in bytes */
const ENTRY_OVERHEAD_BYTES = 120;

/**
 * Write ids a replica has seen — minted here, or received with a replicated object — so a write
 * delivered twice (a duplicated message, a retry after a lost reply, a client retrying with its own
 * X-Ringkv-Write-Id through another node) is applied once: the retry re-sends the version already
 * minted instead of minting another. Only small records are kept (no objects), bounded by bytes and
 * by age; a retry after its id was forgotten is applied again (the README says how long ids live).
 */
export class RecentWrites {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private evictedForBytes = 0;
  private expired = 0;
  /** when this memory started (monotonic ms): a process that restarted remembers nothing from before */
  private readonly startedAtMs: number;
  /** when an id was last forgotten (monotonic ms) */
  private lastForgotMs = -Infinity;

  constructor(
    private readonly limits: RecentWritesLimits,
    nowMs = 0,
  ) {
    this.startedAtMs = nowMs;
  }

  /**
   * Would this memory hold a write id first sent ageMs ago, had it arrived? Only when it has been
   * running, and has forgotten nothing, since then. A retry of an id it does not hold is then a write
   * that never arrived (safe to mint); otherwise its outcome is unknown.
   */
  rememberedSince(ageMs: number, nowMs: number): boolean {
    const since = nowMs - ageMs;
    return this.startedAtMs <= since && this.lastForgotMs <= since;
  }

  /** the write id's record, if it is still remembered (and not expired) */
  get(writeId: string, nowMs: number): KnownWrite | undefined {
    this.expire(nowMs);
    return this.entries.get(writeId);
  }

  /**
   * Runs mint once per write id: a later call with the same id (while remembered) gets the first
   * call's dot instead, with first = false. An id seen before for another key is refused.
   */
  mintOnce(writeId: string, partition: number, key: Uint8Array, nowMs: number, mint: () => Promise<Dot>): { dot: Promise<Dot>; first: boolean } {
    const known = this.get(writeId, nowMs);
    if (known) {
      this.assertSameKey(writeId, known, partition, key);
      const entry = known as Entry;
      return { dot: entry.pending ?? Promise.resolve(entry.dot!), first: false };
    }
    const entry = this.add(writeId, partition, key, undefined, nowMs);
    const pending = mint().then(
      (dot) => {
        entry.dot = dot;
        entry.pending = undefined;
        return dot;
      },
      (e: unknown) => {
        // nothing was minted: forget the id, so a retry may try again
        if (this.entries.get(writeId) === entry) this.remove(writeId, entry);
        throw e;
      },
    );
    entry.pending = pending;
    return { dot: pending, first: true };
  }

  /** records a write id minted elsewhere (it arrived with a replicated object) */
  record(writeId: string, partition: number, key: Uint8Array, dot: Dot, nowMs: number): void {
    if (this.get(writeId, nowMs)) return;
    this.add(writeId, partition, key, dot, nowMs);
  }

  stats(): RecentWritesStats {
    return { entries: this.entries.size, bytes: this.bytes, evictedForBytes: this.evictedForBytes, expired: this.expired };
  }

  private assertSameKey(writeId: string, known: KnownWrite, partition: number, key: Uint8Array): void {
    if (known.partition !== partition || Buffer.compare(known.key, key) !== 0) {
      throw new RingkvError('BAD_PARAMETER', `write id ${JSON.stringify(writeId.slice(0, 80))} was already used for another key; a write id names one write`);
    }
  }

  private add(writeId: string, partition: number, key: Uint8Array, dot: Dot | undefined, nowMs: number): Entry {
    const sizeBytes = ENTRY_OVERHEAD_BYTES + 2 * writeId.length + key.length + (dot ? 2 * dot.node.length : 64);
    const entry: Entry = { partition, key: Uint8Array.from(key), dot, atMs: nowMs, sizeBytes };
    this.entries.set(writeId, entry);
    this.bytes += sizeBytes;
    // oldest first; an entry whose mint is still running is never dropped (that would let a
    // duplicate mint again) — in-flight writes are bounded by the node's request limits anyway
    for (const [id, e] of this.entries) {
      if (this.bytes <= this.limits.maxBytes || e === entry || e.pending) break;
      this.remove(id, e);
      this.evictedForBytes++;
      this.lastForgotMs = nowMs;
    }
    return entry;
  }

  private expire(nowMs: number): void {
    for (const [id, e] of this.entries) {
      if (nowMs - e.atMs <= this.limits.maxAgeMs || e.pending) break;
      this.remove(id, e);
      this.expired++;
      this.lastForgotMs = nowMs;
    }
  }

  private remove(id: string, e: Entry): void {
    this.entries.delete(id);
    this.bytes -= e.sizeBytes;
  }
}
