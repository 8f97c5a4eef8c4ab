import type { GetResult, KvService, PutResult, ReadOptions, SiblingView, WriteOptions } from '../../../src/cluster/kv-service.js';
import { RingkvError } from '../../../src/core/errors.js';

/**
 * An in-memory KvService with the behaviour the RESP front end depends on: a write without context
 * adds a sibling, a write with a read's context supersedes exactly what that read saw, counters are
 * a separate kind; INCR on an integer-looking byte value seeds a counter from it. Versions carry a fake HLC (a global tick).
 */
interface Version {
  dot: number;
  kind: 'bytes' | 'counter';
  value: Uint8Array;
  counter: bigint;
  hlcWallMs: number;
  writer: string;
}

export class FakeKv implements KvService {
  private readonly data = new Map<string, Version[]>();
  private tick = 0;
  /** every call, for assertions on what the front end asked */
  readonly calls: Array<{ op: string; key: string; context?: string }> = [];
  /** when set, the next operation fails with it */
  failNext: RingkvError | null = null;
  /** resolve each call after this many macrotask turns (0 = next microtask) */
  delayTurns = 0;
  /** calls started and not finished, and the most there ever were */
  inFlight = 0;
  maxInFlight = 0;
  /** writer id recorded on new versions */
  writer = 'fake';

  get size(): number {
    return this.data.size;
  }

  async get(key: Uint8Array, _opts?: ReadOptions): Promise<GetResult> {
    await this.pause('get', key);
    const versions = this.data.get(name(key)) ?? [];
    const siblings: SiblingView[] = versions.map((v) => ({
      kind: v.kind,
      value: v.kind === 'counter' ? Buffer.from(v.counter.toString()) : v.value,
      hlcWallMs: v.hlcWallMs,
      hlcLogical: 0,
      writer: v.writer,
    }));
    return { siblings, context: versions.length === 0 ? '' : encodeContext(versions.map((v) => v.dot)) };
  }

  async put(key: Uint8Array, value: Uint8Array, opts?: WriteOptions): Promise<PutResult> {
    await this.pause('put', key, opts?.context);
    const k = name(key);
    // an overwrite supersedes everything (this fake is a single replica, so "what the minting replica holds" is all)
    const kept = opts?.overwrite ? [] : this.survivors(k, opts?.context);
    const version: Version = { dot: ++this.tick, kind: 'bytes', value: Uint8Array.from(value), counter: 0n, hlcWallMs: this.tick, writer: this.writer };
    this.data.set(k, [...kept, version]);
    return { context: encodeContext([version.dot]) };
  }

  async delete(key: Uint8Array, opts?: WriteOptions): Promise<void> {
    await this.pause('delete', key, opts?.context);
    const k = name(key);
    const kept = this.survivors(k, opts?.context);
    if (kept.length === 0) this.data.delete(k);
    else this.data.set(k, kept);
  }

  async increment(key: Uint8Array, delta: bigint, _opts?: Omit<WriteOptions, 'context'>): Promise<bigint> {
    await this.pause('increment', key);
    const k = name(key);
    const versions = this.data.get(k) ?? [];
    // like the real replica: counters merge, integer-looking byte values seed the counter
    let base = 0n;
    for (const v of versions) {
      if (v.kind === 'counter') base += v.counter;
      else {
        const text = Buffer.from(v.value).toString('latin1');
        if (!/^-?\d{1,20}$/.test(text)) throw new RingkvError('NOT_AN_INTEGER', 'value is not an integer or out of range');
        base += BigInt(text);
      }
    }
    const next = base + delta;
    const version: Version = { dot: ++this.tick, kind: 'counter', value: new Uint8Array(), counter: next, hlcWallMs: this.tick, writer: this.writer };
    this.data.set(k, [version]);
    return next;
  }

  /** sibling count of a key (for tests that check SET does not pile siblings up) */
  siblingCount(key: string): number {
    return this.data.get(key)?.length ?? 0;
  }

  private survivors(k: string, context: string | undefined): Version[] {
    const seen = context === undefined || context === '' ? new Set<number>() : new Set(decodeContext(context));
    return (this.data.get(k) ?? []).filter((v) => !seen.has(v.dot));
  }

  private async pause(op: string, key: Uint8Array, context?: string): Promise<void> {
    this.calls.push({ op, key: name(key), context });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      for (let i = 0; i < this.delayTurns; i++) await new Promise((r) => setImmediate(r));
    } finally {
      this.inFlight--;
    }
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
  }
}

function name(key: Uint8Array): string {
  return Buffer.from(key).toString('latin1');
}

function encodeContext(dots: number[]): string {
  return Buffer.from(JSON.stringify(dots)).toString('base64url');
}

function decodeContext(context: string): number[] {
  return JSON.parse(Buffer.from(context, 'base64url').toString()) as number[];
}
