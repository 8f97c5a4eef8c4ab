import type { NodeId } from '../core/member.js';
import type { History, OpRecord } from './history.js';
import { NodeCrashedError, type SimCluster } from './sim-cluster.js';
import type { SimNode } from './sim-node.js';
import type { SeededRandom } from './seeded-random.js';

export interface OpMix {
  /** relative weights */
  get: number;
  blindPut: number;
  /** get, then put with that read's context */
  readModifyWrite: number;
  /** get, then delete with that read's context */
  readDelete: number;
  /** PN-counter increment, or (40%) a read of a counter (on counterKeys) */
  increment?: number;
  /** a read of a counter, then a delete with that read's context (on counterKeys) */
  counterDelete?: number;
  /**
   * a delete of a key with the context this client's last acknowledged PUT of it returned — no read
   * (for write-only workloads); skipped when the client has no such PUT
   */
  putDelete?: number;
}

export interface WorkloadOptions {
  clients: number;
  opsPerClient: number;
  keys: readonly string[];
  /** keys used as PN-counters (increments and reads), kept apart from keys holding values */
  counterKeys?: readonly string[];
  /** chance an increment's delta is negative (deltas are 1..5 in size) @default 0 */
  negativeDeltaProbability?: number;
  /** mean virtual ms a client waits between operations (exponential) */
  thinkMeanMs: number;
  mix: OpMix;
  /** r for each read, picked uniformly (repeat a value to weight it) */
  rChoices: readonly number[];
  /** w for each write, picked uniformly */
  wChoices: readonly number[];
  /** per-op timeout passed to the service; absent = the node's default */
  timeoutMs?: number;
  /**
   * chance that a blind write of a key this client last PUT successfully carries the context that PUT
   * returned instead (superseding the PUT's own version) @default 0
   */
  reusePutContextProbability?: number;
  /** chance an increment op is a read of the counter instead @default 0.4 (0: a write-only workload) */
  counterReadProbability?: number;
  /** clients are named prefix1, prefix2, … (two workloads on one history need distinct prefixes: values name their client) @default 'c' */
  clientPrefix?: string;
  /**
   * chance an operation uses a strict quorum — pr = r for a read, pw = w for a write — so only
   * primaries count (what the history checkers need where sloppy quorums are on) @default 0
   */
  strictProbability?: number;
}

/** a write's quorum and coordinator, when the caller chooses them */
export interface WriteChoice {
  w?: number;
  /** strict: this many acknowledgements must come from primaries */
  pw?: number;
  node?: NodeId;
}

/** the context a write carries and the values it covers */
function contextOf(op: OpRecord | undefined): { token: string | undefined; covers: string[] } {
  if (!op) return { token: undefined, covers: [] };
  if (op.kind === 'get') return { token: op.readContext || undefined, covers: op.readValues ?? [] };
  if (op.kind === 'put' && op.outcome === 'ok') return { token: op.writeContext || undefined, covers: [...op.supersedes, op.value!] };
  throw new Error(`op${op.id} (${op.kind}, ${op.outcome}) has no context to write with`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Simulated clients: each runs its operations one after another, against a random live node, at
 * random virtual times, recording every invocation and completion in the history. Written values
 * are unique (`c2-w5`) so every value a read returns names the write that produced it.
 */
export class Workload {
  /** ops whose coordinator crashed before answering: they stay pending */
  readonly crashedOpIds = new Set<number>();
  private running = 0;
  private started = false;

  constructor(
    private readonly cluster: SimCluster,
    private readonly history: History,
    private readonly random: SeededRandom,
    private readonly options: WorkloadOptions,
  ) {}

  start(): void {
    if (this.started) throw new Error('workload already started');
    this.started = true;
    for (let c = 1; c <= this.options.clients; c++) {
      this.running++;
      const client = `${this.options.clientPrefix ?? 'c'}${c}`;
      const rnd = this.random.fork(client);
      void this.runClient(client, rnd).finally(() => this.running--);
    }
  }

  get done(): boolean {
    return this.started && this.running === 0;
  }

  private async runClient(client: string, rnd: SeededRandom): Promise<void> {
    const o = this.options;
    let writes = 0;
    /** per key, this client's last acknowledged put: its returned context may be reused */
    const lastPut = new Map<string, OpRecord>();
    const remember = (key: string, op: OpRecord | undefined): void => {
      if (op?.kind === 'put' && op.outcome === 'ok') lastPut.set(key, op);
      else lastPut.delete(key);
    };
    const counters = o.counterKeys?.length ? o.counterKeys : undefined;
    const incrementWeight = counters ? (o.mix.increment ?? 0) : 0;
    const counterDeleteWeight = counters ? (o.mix.counterDelete ?? 0) : 0;
    const putDeleteWeight = o.mix.putDelete ?? 0;
    const total = o.mix.get + o.mix.blindPut + o.mix.readModifyWrite + o.mix.readDelete + incrementWeight + counterDeleteWeight + putDeleteWeight;
    for (let i = 0; i < o.opsPerClient; i++) {
      await this.sleep(rnd.exponential(o.thinkMeanMs));
      let x = rnd.next() * total;
      if ((x -= incrementWeight) < 0) {
        const counterKey = rnd.pick(counters!);
        if (rnd.chance(o.counterReadProbability ?? 0.4)) await this.get(client, rnd, counterKey);
        else await this.increment(client, rnd, counterKey, BigInt(rnd.intBetween(1, 5) * (rnd.chance(o.negativeDeltaProbability ?? 0) ? -1 : 1)));
        continue;
      }
      if ((x -= counterDeleteWeight) < 0) {
        const counterKey = rnd.pick(counters!);
        const read = await this.get(client, rnd, counterKey);
        if (read?.outcome === 'ok') await this.del(client, rnd, counterKey, read);
        continue;
      }
      const key = rnd.pick(o.keys);
      if ((x -= putDeleteWeight) < 0) {
        const previous = lastPut.get(key);
        if (previous) remember(key, await this.del(client, rnd, key, previous));
        continue;
      }
      if ((x -= o.mix.get) < 0) {
        await this.get(client, rnd, key);
      } else if ((x -= o.mix.blindPut) < 0) {
        const previous = lastPut.get(key);
        const reuse = previous && rnd.chance(o.reusePutContextProbability ?? 0) ? previous : undefined;
        remember(key, await this.put(client, rnd, key, `${client}-w${++writes}`, reuse));
      } else {
        const read = await this.get(client, rnd, key);
        if (read?.outcome !== 'ok') continue;
        if ((x -= o.mix.readModifyWrite) < 0) remember(key, await this.put(client, rnd, key, `${client}-w${++writes}`, read));
        else remember(key, await this.del(client, rnd, key, read));
      }
    }
  }

  /** one read; resolves with its record (also when it failed) */
  async get(client: string, rnd: SeededRandom, key: string, opts: { r?: number; pr?: number; node?: NodeId } = {}): Promise<OpRecord | undefined> {
    const node = opts.node ?? this.pickNode(rnd);
    if (!node) return undefined;
    const r = opts.r ?? rnd.pick(this.options.rChoices);
    const pr = opts.pr ?? (opts.r === undefined ? this.strict(rnd, r) : undefined);
    const op = this.history.invoke({ client, node, kind: 'get', key, r, ...(pr !== undefined ? { pr } : {}) });
    await this.execute(op, node, async (svc) => {
      const res = await svc.get(encoder.encode(key), { r, ...(pr !== undefined ? { pr } : {}), timeoutMs: this.options.timeoutMs });
      const counter = res.siblings.find((s) => s.kind === 'counter');
      this.history.complete(op, {
        readValues: res.siblings.filter((s) => s.kind !== 'counter').map((s) => decoder.decode(s.value)),
        readContext: res.context,
        counterValue: counter ? decoder.decode(counter.value) : undefined,
      });
    });
    return op;
  }

  /** one put: blind, or with the context of `from` (a read, or an acknowledged put whose returned context it reuses) */
  async put(client: string, rnd: SeededRandom, key: string, value: string, from?: OpRecord, opts: WriteChoice = {}): Promise<OpRecord | undefined> {
    const node = opts.node ?? this.pickNode(rnd);
    if (!node) return undefined;
    const { w, pw } = this.writeQuorum(rnd, opts);
    const context = contextOf(from);
    const op = this.history.invoke({ client, node, kind: 'put', key, value, w, ...(pw !== undefined ? { pw } : {}), contextFromOp: from?.id, supersedes: context.covers });
    await this.execute(op, node, async (svc) => {
      const res = await svc.put(encoder.encode(key), encoder.encode(value), { w, ...(pw !== undefined ? { pw } : {}), timeoutMs: this.options.timeoutMs, context: context.token });
      this.history.complete(op, { writeContext: res.context });
    });
    return op;
  }

  /** one delete with the context of `from` (a read, or an acknowledged put) */
  async del(client: string, rnd: SeededRandom, key: string, from: OpRecord, opts: WriteChoice = {}): Promise<OpRecord | undefined> {
    const node = opts.node ?? this.pickNode(rnd);
    if (!node) return undefined;
    const { w, pw } = this.writeQuorum(rnd, opts);
    const context = contextOf(from);
    const op = this.history.invoke({ client, node, kind: 'delete', key, w, ...(pw !== undefined ? { pw } : {}), contextFromOp: from.id, supersedes: context.covers });
    await this.execute(op, node, async (svc) => {
      await svc.delete(encoder.encode(key), { w, ...(pw !== undefined ? { pw } : {}), timeoutMs: this.options.timeoutMs, context: context.token });
      this.history.complete(op);
    });
    return op;
  }

  async increment(client: string, rnd: SeededRandom, key: string, delta: bigint, opts: WriteChoice = {}): Promise<OpRecord | undefined> {
    const node = opts.node ?? this.pickNode(rnd);
    if (!node) return undefined;
    const { w, pw } = this.writeQuorum(rnd, opts);
    const op = this.history.invoke({ client, node, kind: 'increment', key, delta: delta.toString(), w, ...(pw !== undefined ? { pw } : {}) });
    await this.execute(op, node, async (svc) => {
      const value = await svc.increment(encoder.encode(key), delta, { w, ...(pw !== undefined ? { pw } : {}), timeoutMs: this.options.timeoutMs });
      this.history.complete(op, { counterValue: value.toString() });
    });
    return op;
  }

  /** w from the choices unless given; pw = w for a strict write (given, or drawn with strictProbability) */
  private writeQuorum(rnd: SeededRandom, opts: WriteChoice): { w: number; pw?: number } {
    const w = opts.w ?? rnd.pick(this.options.wChoices);
    const pw = opts.pw ?? (opts.w === undefined ? this.strict(rnd, w) : undefined);
    return pw === undefined ? { w } : { w, pw };
  }

  /** the strict quorum for an op drawn here: q itself with strictProbability (no draw when it is 0) */
  private strict(rnd: SeededRandom, q: number): number | undefined {
    const p = this.options.strictProbability ?? 0;
    return p > 0 && (p >= 1 || rnd.chance(p)) ? q : undefined;
  }

  private async execute(op: OpRecord, node: NodeId, fn: (svc: SimNode) => Promise<void>): Promise<void> {
    try {
      await this.cluster.call(node, fn);
    } catch (e) {
      if (e instanceof NodeCrashedError) this.crashedOpIds.add(op.id);
      else if (op.outcome === 'pending') this.history.fail(op, e);
    }
  }

  private pickNode(rnd: SeededRandom): NodeId | undefined {
    const up = this.cluster.upNodeIds();
    return up.length ? rnd.pick(up) : undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.cluster.sim.clock.setTimer(ms, resolve));
  }
}
