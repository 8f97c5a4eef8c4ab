import { Packr } from 'msgpackr';
import type { NodeId } from '../../core/member.js';
import { syncObjects } from '../../core/version/versioned-object.js';
import type { Engine } from '../../storage/engine.js';
import { KeyLock } from '../key-lock.js';
import { decodeObject, encodeObject } from '../object-codec.js';
import type { Logger } from '../runtime.js';

/**
 * Hints live in the engine under one partition number the ring never uses, so they are durable with
 * the write they belong to (the same commit log and group commit) and never mix with primary data
 * (scans, anti-entropy trees and transfers only ever see ring partitions).
 */
export const HINT_PARTITION = 0xfffe0000;

export interface HintLimits {
  /** hints older than this are dropped (anti-entropy repairs instead) @default 10800000 (3 h) */
  maxAgeMs: number;
  /** per target, hints past this many bytes are dropped @default 1073741824 (1 GiB) */
  maxBytesPerTarget: number;
}

export interface Hint {
  target: NodeId;
  partition: number;
  key: Uint8Array;
  /** the object to hand to the target (merged over every write hinted for it), encoded */
  object: Uint8Array;
  /** when the oldest write in it was hinted */
  createdAtMs: number;
  /** its engine key, to delete it once delivered */
  slot: Uint8Array;
}

export interface TargetHintStats {
  count: number;
  bytes: number;
  oldestMs: number | undefined;
}

const packr = new Packr({ useRecords: false });

/**
 * A stand-in's (or a coordinator's) hints for replicas that were down: one per (target, key), merged
 * as more writes for it arrive, bounded by age and by bytes per target. A hint is deleted only after its
 * target (or, if ownership moved, the key's current replicas) acknowledged it durably.
 */
export class HintStore {
  private readonly lock = new KeyLock();
  private readonly targets = new Map<NodeId, { count: number; bytes: number; oldest: Map<string, number> }>();
  readonly stats = { stored: 0, delivered: 0, droppedForAge: 0, droppedForBytes: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly limits: HintLimits,
    private readonly logger: Logger,
  ) {}

  /** counts the hints on disk (after a restart) */
  async open(): Promise<void> {
    for await (const e of this.engine.scan(HINT_PARTITION, HINT_PARTITION + 1)) {
      const h = this.decode(e.key, e.value);
      if (h) this.account(h.target, slotKey(e.key), h.object.length + e.key.length, h.createdAtMs);
    }
  }

  /** stores (durably) the object as a hint for target, merged with a hint already held for that key */
  async add(target: NodeId, partition: number, key: Uint8Array, object: Uint8Array, nowMs: number): Promise<void> {
    const slot = hintSlot(target, partition, key);
    const sk = slotKey(slot);
    await this.lock.run(sk, async () => {
      const existing = await this.engine.get(HINT_PARTITION, slot);
      const old = existing ? this.decode(slot, existing) : undefined;
      const merged = old ? encodeObject(syncObjects(decodeObject(old.object, 'hint'), decodeObject(object, 'hint'))) : object;
      const createdAtMs = old?.createdAtMs ?? nowMs;
      const size = merged.length + slot.length;
      const t = this.targets.get(target);
      const grow = size - (old ? old.object.length + slot.length : 0);
      if (t && t.bytes + grow > this.limits.maxBytesPerTarget) {
        this.stats.droppedForBytes++;
        this.logger.warn({ target, bytes: t.bytes, limit: this.limits.maxBytesPerTarget }, 'hints for this target are over their byte limit: dropping the hint (anti-entropy will repair)');
        return;
      }
      await this.engine.put(HINT_PARTITION, slot, packr.pack({ t: createdAtMs, o: merged }));
      if (old) this.unaccount(target, sk, old.object.length + slot.length);
      this.account(target, sk, size, createdAtMs);
      this.stats.stored++;
    });
  }

  /** the hints held for target, oldest keys first in key order (a snapshot) */
  async *hintsFor(target: NodeId): AsyncIterable<Hint> {
    const prefix = Buffer.from(`${target}\u0000`, 'utf8');
    for await (const e of this.engine.scan(HINT_PARTITION, HINT_PARTITION + 1)) {
      if (e.key.length < prefix.length || Buffer.compare(e.key.subarray(0, prefix.length), prefix) !== 0) continue;
      const h = this.decode(e.key, e.value);
      if (h) yield h;
    }
  }

  /** targets with hints pending */
  pendingTargets(): NodeId[] {
    return [...this.targets.entries()].filter(([, t]) => t.count > 0).map(([id]) => id);
  }

  targetStats(target: NodeId): TargetHintStats {
    const t = this.targets.get(target);
    if (!t) return { count: 0, bytes: 0, oldestMs: undefined };
    let oldest: number | undefined;
    for (const v of t.oldest.values()) if (oldest === undefined || v < oldest) oldest = v;
    return { count: t.count, bytes: t.bytes, oldestMs: oldest };
  }

  /** deletes a delivered hint, unless a newer write was merged into it meanwhile (then it stays, to be delivered again) */
  async remove(h: Hint, dropped?: 'age'): Promise<void> {
    const sk = slotKey(h.slot);
    await this.lock.run(sk, async () => {
      const current = await this.engine.get(HINT_PARTITION, h.slot);
      if (!current) return;
      const now = this.decode(h.slot, current);
      if (!dropped && now && Buffer.compare(now.object, h.object) !== 0) return;
      await this.engine.delete(HINT_PARTITION, h.slot);
      this.unaccount(h.target, sk, (now?.object.length ?? h.object.length) + h.slot.length);
      if (dropped === 'age') this.stats.droppedForAge++;
      else this.stats.delivered++;
    });
  }

  isExpired(h: Hint, nowMs: number): boolean {
    return nowMs - h.createdAtMs > this.limits.maxAgeMs;
  }

  private account(target: NodeId, sk: string, bytes: number, createdAtMs: number): void {
    let t = this.targets.get(target);
    if (!t) this.targets.set(target, (t = { count: 0, bytes: 0, oldest: new Map() }));
    t.count++;
    t.bytes += bytes;
    t.oldest.set(sk, createdAtMs);
  }

  private unaccount(target: NodeId, sk: string, bytes: number): void {
    const t = this.targets.get(target);
    if (!t || !t.oldest.has(sk)) return;
    t.count--;
    t.bytes -= bytes;
    t.oldest.delete(sk);
  }

  private decode(slot: Uint8Array, value: Uint8Array): Hint | undefined {
    try {
      const zero = slot.indexOf(0);
      const target = Buffer.from(slot.subarray(0, zero)).toString('utf8');
      const partition = Buffer.from(slot.buffer, slot.byteOffset + zero + 1, 4).readUInt32BE(0);
      const key = slot.subarray(zero + 5);
      const rec = packr.unpack(value) as { t: number; o: Uint8Array };
      if (typeof rec?.t !== 'number' || !(rec.o instanceof Uint8Array)) throw new Error('bad record');
      return { target, partition, key, object: rec.o, createdAtMs: rec.t, slot };
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, 'unreadable hint skipped');
      return undefined;
    }
  }
}

/** target id, a zero byte, the partition (u32 big-endian), the key */
function hintSlot(target: NodeId, partition: number, key: Uint8Array): Uint8Array {
  const t = Buffer.from(target, 'utf8');
  const out = Buffer.alloc(t.length + 5 + key.length);
  t.copy(out, 0);
  out[t.length] = 0;
  out.writeUInt32BE(partition, t.length + 1);
  out.set(key, t.length + 5);
  return out;
}

function slotKey(slot: Uint8Array): string {
  return Buffer.from(slot.buffer, slot.byteOffset, slot.byteLength).toString('latin1');
}
