import { RingkvError, toRingkvError } from '../core/errors.js';
import type { Member, NodeId } from '../core/member.js';
import type { ClusterConfig } from '../cluster/cluster-config.js';
import type { GetResult, PutResult, ReadOptions, SiblingView, WriteOptions } from '../cluster/kv-service.js';
import type { Message, Random, Transport } from '../cluster/runtime.js';
import type { Engine } from '../storage/engine.js';
import type { SimNode, SimNodeDeps } from './sim-node.js';

/**
 * A deliberately tiny replicated key-value node, obviously right rather than efficient, used to test
 * the simulator and its checkers independently of src/cluster (and as the model the real node must
 * agree with). Each key lives on n consecutive members; a version is a globally unique dot (node,
 * random incarnation, counter), so a restart or a lost disk can never mint a dot twice; an object is
 * its live siblings plus the set of every dot it has seen. A write with a context removes exactly the
 * siblings whose dots the context names; applying a write twice changes nothing. The coordinator
 * sends the same dot to every replica, so a write is minted once whatever is retried.
 *
 * Counters: an increment is a sibling of its own carrying its delta; the counter is the sum of the
 * live increments. A DEL with a read's context removes exactly the increments that read saw
 * (observed-remove), and an INCR answers the sum over what its W acknowledging replicas hold.
 */
interface RefSibling {
  dot: string;
  /** base64 bytes, or null for a tombstone or an increment */
  value: string | null;
  /** an increment: its delta, decimal */
  delta?: string;
}

export interface RefObject {
  siblings: RefSibling[];
  /** sorted, every dot this object has seen (live or superseded) */
  seen: string[];
}

const PARTITION = 0;

export class ReferenceKvNode implements SimNode {
  private readonly self: NodeId;
  private readonly members: Member[];
  private readonly config: ClusterConfig;
  private readonly random: Random;
  private readonly transport: Transport;
  private readonly engine: Engine;
  private readonly locks = new Map<string, Promise<void>>();
  private counter = 0;
  /** a per-incarnation prefix keeps dots unique across restarts without persisting a counter */
  private readonly incarnation: number;

  constructor(deps: SimNodeDeps) {
    this.self = deps.self;
    this.members = [...deps.members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.config = deps.config;
    this.random = deps.random;
    this.transport = deps.transport;
    this.engine = deps.engine;
    this.incarnation = this.random.int(2 ** 30);
  }

  start(): void {
    this.transport.onRequest((_from, msg) => this.handle(msg));
  }

  async stop(): Promise<void> {
    await this.transport.close();
  }

  async get(key: Uint8Array, opts: ReadOptions = {}): Promise<GetResult> {
    const r = opts.r ?? this.config.r;
    const timeoutMs = opts.timeoutMs ?? this.config.requestTimeoutMs;
    const asked = new Map<NodeId, Promise<Message>>();
    const ask = (to: NodeId): Promise<Message> => {
      const p = this.transport.request(to, { type: 'ref_read', key }, timeoutMs);
      asked.set(to, p);
      return p;
    };
    const merged = mergeReplies(await this.quorum(key, r, ask, 'read'));
    void this.readRepair(key, asked);
    const siblings: SiblingView[] = merged.siblings
      .filter((s) => s.value !== null)
      .map((s) => ({ kind: 'bytes', value: Uint8Array.from(Buffer.from(s.value!, 'base64')), hlcWallMs: 0, hlcLogical: 0, writer: s.dot.split('.')[0] }));
    const counter = counterOf(merged);
    if (counter !== undefined) siblings.push({ kind: 'counter', value: Buffer.from(counter.toString(), 'latin1'), hlcWallMs: 0, hlcLogical: 0, writer: '' });
    return { siblings, context: merged.seen.length ? encodeContext(merged.seen) : '' };
  }

  async put(key: Uint8Array, value: Uint8Array, opts: WriteOptions = {}): Promise<PutResult> {
    const context = decodeContext(opts.context);
    const { dot } = await this.write(key, { value: Buffer.from(value).toString('base64') }, context, opts);
    return { context: encodeContext([...context, dot].sort()) };
  }

  async delete(key: Uint8Array, opts: WriteOptions = {}): Promise<void> {
    await this.write(key, { value: null }, decodeContext(opts.context), opts);
  }

  async increment(key: Uint8Array, delta: bigint, opts: Omit<WriteOptions, 'context'> = {}): Promise<bigint> {
    const { acks } = await this.write(key, { value: null, delta: delta.toString() }, [], opts);
    return counterOf(mergeReplies(acks)) ?? 0n;
  }

  private async write(key: Uint8Array, content: Omit<RefSibling, 'dot'>, context: string[], opts: Omit<WriteOptions, 'context'>): Promise<{ dot: string; acks: Message[] }> {
    const w = opts.w ?? this.config.w;
    const timeoutMs = opts.timeoutMs ?? this.config.requestTimeoutMs;
    const dot = `${this.self}.${this.incarnation}.${++this.counter}`;
    const acks = await this.quorum(key, w, (to) => this.transport.request(to, { type: 'ref_write', key, dot, ...content, context }, timeoutMs), 'write');
    return { dot, acks };
  }

  /** once every replica answered or failed: sends the merged object to each replica that differs from it */
  private async readRepair(key: Uint8Array, asked: Map<NodeId, Promise<Message>>): Promise<void> {
    const answers: Array<{ to: NodeId; object: RefObject | null }> = [];
    for (const [to, p] of asked) {
      try {
        answers.push({ to, object: ((await p).object as RefObject | null) ?? null });
      } catch {
        // no answer: nothing to compare
      }
    }
    const merged = mergeReplies(answers.map((a) => ({ type: 'ref_read_ok', object: a.object })));
    const text = JSON.stringify(merged);
    for (const a of answers) if (JSON.stringify(a.object) !== text && merged.seen.length > 0) this.transport.send(a.to, { type: 'ref_merge', key, object: merged });
  }

  /** asks every replica of key; resolves with the first `needed` replies */
  private quorum(key: Uint8Array, needed: number, ask: (to: NodeId) => Promise<Message>, what: string): Promise<Message[]> {
    const replicas = this.replicasOf(key);
    if (!Number.isInteger(needed) || needed < 1 || needed > replicas.length) {
      return Promise.reject(new RingkvError('BAD_PARAMETER', `${what} quorum ${needed} must be from 1 to ${replicas.length}`));
    }
    return new Promise((resolve, reject) => {
      const replies: Message[] = [];
      let failures = 0;
      let last: RingkvError | undefined;
      for (const to of replicas) {
        ask(to).then(
          (reply) => {
            replies.push(reply);
            if (replies.length === needed) resolve(replies.slice());
          },
          (e: unknown) => {
            failures++;
            last = toRingkvError(e);
            if (replicas.length - failures === needed - 1) {
              reject(new RingkvError(last.code === 'TIMEOUT' ? 'TIMEOUT' : 'QUORUM_NOT_MET', `${what}: ${replies.length} of ${needed} replicas answered (${last.message})`));
            }
          },
        );
      }
    });
  }

  private replicasOf(key: Uint8Array): NodeId[] {
    return referenceReplicas(key, this.members, this.config.n);
  }

  private async handle(msg: Message): Promise<Message> {
    const key = msg.key;
    if (!(key instanceof Uint8Array)) throw new RingkvError('MALFORMED_REQUEST', 'key missing');
    if (msg.type === 'ref_read') return { type: 'ref_read_ok', object: (await this.load(key)) ?? null };
    if (msg.type === 'ref_merge') {
      await this.withLock(key, async () => this.engine.put(PARTITION, key, encodeObject(mergeObjects((await this.load(key)) ?? { siblings: [], seen: [] }, msg.object as RefObject))));
      return { type: 'ref_ack' };
    }
    if (msg.type === 'ref_write') {
      const { dot, value, delta, context } = msg as unknown as { dot: string; value: string | null; delta?: string; context: string[] };
      const written = await this.withLock(key, async () => {
        const updated = applyWrite((await this.load(key)) ?? { siblings: [], seen: [] }, delta === undefined ? { dot, value } : { dot, value: null, delta }, context);
        await this.engine.put(PARTITION, key, encodeObject(updated));
        return updated;
      });
      return { type: 'ref_ack', object: written };
    }
    throw new RingkvError('UNKNOWN_MESSAGE', `unknown message ${String(msg.type)}`);
  }

  private async load(key: Uint8Array): Promise<RefObject | undefined> {
    const bytes = await this.engine.get(PARTITION, key);
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as RefObject) : undefined;
  }

  private async withLock<T>(key: Uint8Array, fn: () => Promise<T>): Promise<T> {
    const slot = Buffer.from(key).toString('latin1');
    const prev = this.locks.get(slot) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(slot, next.then(
      () => {},
      () => {},
    ));
    return next;
  }
}

/** each key lives on n consecutive members (by sorted id) from an FNV-1a hash of the key */
export function referenceReplicas(key: Uint8Array, sortedMembers: readonly Member[], n: number): NodeId[] {
  let h = 0x811c9dc5;
  for (const b of key) h = Math.imul(h ^ b, 0x01000193);
  const start = (h >>> 0) % sortedMembers.length;
  const count = Math.min(n, sortedMembers.length);
  return Array.from({ length: count }, (_, i) => sortedMembers[(start + i) % sortedMembers.length].id);
}

/** where the reference node keeps a key, for the convergence check */
export const REFERENCE_PARTITION = PARTITION;

export function applyWrite(obj: RefObject, sibling: RefSibling, context: readonly string[]): RefObject {
  if (obj.seen.includes(sibling.dot)) return obj; // duplicate delivery, or already superseded
  const covered = new Set(context);
  const siblings = obj.siblings.filter((s) => !covered.has(s.dot));
  siblings.push(sibling);
  return { siblings: siblings.sort(byDot), seen: [...new Set([...obj.seen, ...context, sibling.dot])].sort() };
}

function mergeReplies(replies: readonly Message[]): RefObject {
  let merged: RefObject = { siblings: [], seen: [] };
  for (const reply of replies) if (reply.object) merged = mergeObjects(merged, reply.object as RefObject);
  return merged;
}

/** the sum of the live increments, or undefined when there are none */
function counterOf(obj: RefObject): bigint | undefined {
  const increments = obj.siblings.filter((s) => s.delta !== undefined);
  return increments.length ? increments.reduce((sum, s) => sum + BigInt(s.delta!), 0n) : undefined;
}

/** a sibling survives a merge unless the other side has seen its dot and dropped it */
export function mergeObjects(a: RefObject, b: RefObject): RefObject {
  const aSeen = new Set(a.seen);
  const bSeen = new Set(b.seen);
  const aDots = new Set(a.siblings.map((s) => s.dot));
  const bDots = new Set(b.siblings.map((s) => s.dot));
  const siblings = [
    ...a.siblings.filter((s) => !bSeen.has(s.dot) || bDots.has(s.dot)),
    ...b.siblings.filter((s) => (!aSeen.has(s.dot) || aDots.has(s.dot)) && !aDots.has(s.dot)),
  ];
  return { siblings: siblings.sort(byDot), seen: [...new Set([...a.seen, ...b.seen])].sort() };
}

function byDot(a: RefSibling, b: RefSibling): number {
  return a.dot < b.dot ? -1 : a.dot > b.dot ? 1 : 0;
}

function encodeObject(obj: RefObject): Uint8Array {
  return Buffer.from(JSON.stringify(obj), 'utf8');
}

/** a stored object as canonical text (siblings and seen dots are kept sorted) */
export function describeReferenceObject(bytes: Uint8Array): string {
  const obj = JSON.parse(Buffer.from(bytes).toString('utf8')) as RefObject;
  return JSON.stringify({ siblings: obj.siblings.map((s) => ({ dot: s.dot, value: s.value, delta: s.delta })), seen: obj.seen });
}

function encodeContext(dots: string[]): string {
  return Buffer.from(JSON.stringify(dots), 'utf8').toString('base64url');
}

function decodeContext(token: string | undefined): string[] {
  if (!token) return [];
  try {
    const dots = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(dots) && dots.every((d) => typeof d === 'string')) return dots;
  } catch {
    // fall through
  }
  throw new RingkvError('MALFORMED_CONTEXT', 'context is not a reference-node token');
}

export const referenceNodeFactory = (deps: SimNodeDeps): SimNode => new ReferenceKvNode(deps);
