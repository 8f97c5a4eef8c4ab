/**
 * An in-process KvService for front-end tests (HTTP, RESP): sibling semantics like the real one
 * (a write without context adds a sibling, a write with the latest context replaces them all), a
 * recognisable context token, MALFORMED_CONTEXT for anything else, and error injection.
 */
import { RingkvError } from '../../src/core/errors.js';
import type { GetResult, KvService, PutResult, ReadOptions, SiblingView, WriteOptions } from '../../src/cluster/kv-service.js';

interface Slot {
  version: number;
  siblings: Uint8Array[];
  counter?: bigint;
}

export class FakeKvService implements KvService {
  private readonly slots = new Map<string, Slot>();
  private injected: RingkvError | undefined;
  /** the options of the last call, so tests can check that query parameters reached the service */
  lastReadOptions: ReadOptions | undefined;
  lastWriteOptions: WriteOptions | undefined;
  /** keys seen by the service, as hex, in call order */
  readonly keysSeen: string[] = [];

  /** makes the next call (any method) reject with this error */
  failNextWith(error: RingkvError): void {
    this.injected = error;
  }

  async get(key: Uint8Array, opts: ReadOptions = {}): Promise<GetResult> {
    this.enter(key);
    this.lastReadOptions = opts;
    const slot = this.slots.get(hex(key));
    if (slot === undefined) return { siblings: [], context: '' };
    return { siblings: slot.siblings.map(view), context: token(slot.version) };
  }

  async put(key: Uint8Array, value: Uint8Array, opts: WriteOptions = {}): Promise<PutResult> {
    this.enter(key);
    this.lastWriteOptions = opts;
    const slot = this.slotFor(key);
    const seen = opts.context === undefined ? undefined : parseToken(opts.context);
    slot.version += 1;
    slot.siblings = seen !== undefined && seen === slot.version - 1 ? [Uint8Array.from(value)] : [...slot.siblings, Uint8Array.from(value)];
    return { context: token(slot.version) };
  }

  async delete(key: Uint8Array, opts: WriteOptions = {}): Promise<void> {
    this.enter(key);
    this.lastWriteOptions = opts;
    if (opts.context !== undefined) parseToken(opts.context);
    const slot = this.slotFor(key);
    slot.version += 1;
    slot.siblings = [];
  }

  async increment(key: Uint8Array, delta: bigint, opts: Omit<WriteOptions, 'context'> = {}): Promise<bigint> {
    this.enter(key);
    this.lastWriteOptions = opts;
    const slot = this.slotFor(key);
    slot.version += 1;
    slot.counter = (slot.counter ?? 0n) + delta;
    slot.siblings = [Buffer.from(slot.counter.toString())];
    return slot.counter;
  }

  private enter(key: Uint8Array): void {
    this.keysSeen.push(hex(key));
    const e = this.injected;
    if (e !== undefined) {
      this.injected = undefined;
      throw e;
    }
  }

  private slotFor(key: Uint8Array): Slot {
    let slot = this.slots.get(hex(key));
    if (slot === undefined) {
      slot = { version: 0, siblings: [] };
      this.slots.set(hex(key), slot);
    }
    return slot;
  }
}

function hex(key: Uint8Array): string {
  return Buffer.from(key).toString('hex');
}

function view(value: Uint8Array): SiblingView {
  return { kind: 'bytes', value, hlcWallMs: 0, hlcLogical: 0, writer: 'fake' };
}

function token(version: number): string {
  return Buffer.from(`fake-v${version}`).toString('base64url');
}

function parseToken(context: string): number {
  const m = /^fake-v(\d+)$/.exec(Buffer.from(context, 'base64url').toString('latin1'));
  if (m === null) throw new RingkvError('MALFORMED_CONTEXT', `not a context token: ${JSON.stringify(context.slice(0, 32))}`);
  return Number(m[1]);
}
