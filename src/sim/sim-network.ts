import type { NodeId } from '../core/member.js';
import { ERROR_CODES, RingkvError, type ErrorCode } from '../core/errors.js';
import type { Clock, Message, RequestHandler, TimerHandle, Transport } from '../cluster/runtime.js';
import type { SeededRandom } from './seeded-random.js';
import type { Simulation } from './simulation.js';
import { traceJson } from './stable-json.js';

/** What the simulated wire does to messages. Every choice is drawn from the network's seeded stream. */
export interface NetworkFaults {
  /** smallest one-way delay @default 1 */
  latencyBaseMs: number;
  /** mean of the exponential tail added to the base; random delays also reorder messages @default 4 */
  latencyTailMeanMs: number;
  /** no one-way delay exceeds this @default 200 */
  latencyMaxMs: number;
  /** chance each message (request, reply or one-way) is lost @default 0 */
  dropProbability: number;
  /** chance a message is delivered twice, each copy with its own delay @default 0 */
  duplicateProbability: number;
  /**
   * chance that a request reaching a crashed or not-yet-listening node is refused at once (the caller
   * sees PEER_UNREACHABLE after a round trip) rather than vanishing (the caller times out) @default 0.5
   */
  refuseProbability: number;
}

export const DEFAULT_NETWORK_FAULTS: NetworkFaults = {
  latencyBaseMs: 1,
  latencyTailMeanMs: 4,
  latencyMaxMs: 200,
  dropProbability: 0,
  duplicateProbability: 0,
  refuseProbability: 0.5,
};

export interface NetworkStats {
  /** messages put on the wire (requests, replies, one-way) */
  sent: number;
  /** copies that reached the destination's side of the network */
  delivered: number;
  /** lost at random, or cut by a partition */
  dropped: number;
  duplicated: number;
  /** requests that found no listener and were refused (the caller learns PEER_UNREACHABLE) */
  refused: number;
  /** copies that found no listener (a crashed or not yet listening node) */
  undeliverable: number;
}

interface Endpoint {
  current?: SimTransport;
  /** partition group: nodes talk only within their group */
  group: number;
}

interface PendingRequest {
  resolve: (m: Message) => void;
  reject: (e: RingkvError) => void;
  timer: TimerHandle;
  to: NodeId;
}

/**
 * The simulated network between nodes: latency with a tail (hence reordering), loss, duplication,
 * partitions, crashes. Each node incarnation gets a fresh SimTransport from attach(); crash() silences
 * it. Messages are structuredClone'd on delivery so nodes never share objects.
 */
export class SimNetwork {
  faults: NetworkFaults;
  /**
   * Whether traces carry message bodies. Off for large runs (a 1000-member gossip digest is tens of
   * KB of JSON per message); the trace then still records every send, delivery, drop and reply.
   */
  tracePayloads = true;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, refused: 0, undeliverable: 0 };
  private readonly endpoints = new Map<NodeId, Endpoint>();
  private readonly random: SeededRandom;
  private nextGroup = 1;
  private nextMessageId = 1;

  constructor(
    readonly sim: Simulation,
    faults: Partial<NetworkFaults> = {},
  ) {
    this.faults = { ...DEFAULT_NETWORK_FAULTS, ...faults };
    this.random = sim.random.fork('network');
  }

  setFaults(faults: Partial<NetworkFaults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  /**
   * A new transport incarnation for id (a node starting or restarting). Any previous incarnation is
   * silenced first. clock (default: the simulation's) runs its timeouts: pass the node's scoped clock
   * so a crash cancels them.
   */
  attach(id: NodeId, clock: Clock = this.sim.clock): SimTransport {
    const endpoint = this.endpoint(id);
    endpoint.current?.kill();
    const transport = new SimTransport(id, this, clock);
    endpoint.current = transport;
    this.sim.trace(`net attach ${id}`);
    return transport;
  }

  /** the node stops sending, receiving and answering; its pending requests never settle */
  crash(id: NodeId): void {
    const endpoint = this.endpoint(id);
    endpoint.current?.kill();
    endpoint.current = undefined;
    this.sim.trace(`net crash ${id}`);
  }

  isUp(id: NodeId): boolean {
    const t = this.endpoints.get(id)?.current;
    return t !== undefined && t.alive;
  }

  /** cuts the given nodes off from all others (messages across the cut are lost); splits compose */
  partition(group: readonly NodeId[]): void {
    const g = this.nextGroup++;
    for (const id of group) this.endpoint(id).group = g;
    this.sim.trace(`net partition [${[...group].join(',')}] from the rest`);
  }

  heal(): void {
    for (const e of this.endpoints.values()) e.group = 0;
    this.sim.trace('net heal');
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return from === to || this.endpoint(from).group === this.endpoint(to).group;
  }

  private endpoint(id: NodeId): Endpoint {
    let e = this.endpoints.get(id);
    if (!e) {
      e = { group: 0 };
      this.endpoints.set(id, e);
    }
    return e;
  }

  /** a message body for the trace ('' when tracePayloads is off) */
  traceBody(payload: unknown): string {
    return this.tracePayloads ? traceJson(payload) : '';
  }

  /** one-way delay, whole ms, from the seeded stream */
  private latencyMs(): number {
    const f = this.faults;
    const ms = f.latencyBaseMs + this.random.exponential(f.latencyTailMeanMs);
    return Math.max(0, Math.min(f.latencyMaxMs, Math.round(ms)));
  }

  /**
   * Puts one message on the wire: decides loss and duplication now, checks partitions and crashes on
   * arrival (a cut or crash also catches messages already in flight).
   */
  transmit(from: NodeId, to: NodeId, what: string, arrive: (copy: number) => void): void {
    this.stats.sent++;
    const loopback = from === to;
    if (!loopback && this.random.chance(this.faults.dropProbability)) {
      this.stats.dropped++;
      this.sim.trace(`drop ${from}->${to} ${what}`);
      return;
    }
    const copies = !loopback && this.random.chance(this.faults.duplicateProbability) ? 2 : 1;
    if (copies === 2) {
      this.stats.duplicated++;
      this.sim.trace(`duplicate ${from}->${to} ${what}`);
    }
    for (let copy = 0; copy < copies; copy++) {
      const delay = loopback ? 0 : this.latencyMs();
      this.sim.clock.setTimer(delay, () => {
        if (!this.canReach(from, to)) {
          this.stats.dropped++;
          this.sim.trace(`cut ${from}->${to} ${what}`);
          return;
        }
        this.stats.delivered++;
        arrive(copy);
      });
    }
  }

  /** the live incarnation at id, if any */
  receiver(id: NodeId): SimTransport | undefined {
    const t = this.endpoints.get(id)?.current;
    return t?.alive ? t : undefined;
  }

  newMessageId(): number {
    return this.nextMessageId++;
  }

  refuse(): boolean {
    return this.random.chance(this.faults.refuseProbability);
  }
}

function errorReply(e: unknown): Message {
  if (e instanceof RingkvError) {
    return e.details === undefined ? { type: 'error', code: e.code, message: e.message } : { type: 'error', code: e.code, message: e.message, details: e.details };
  }
  return { type: 'error', code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

function errorFromReply(reply: Message): RingkvError {
  const code = typeof reply.code === 'string' && reply.code in ERROR_CODES ? (reply.code as ErrorCode) : 'INTERNAL';
  const message = typeof reply.message === 'string' ? reply.message : `peer replied with error ${String(reply.code)}`;
  const details = reply.details && typeof reply.details === 'object' ? (reply.details as Record<string, unknown>) : undefined;
  return new RingkvError(code, message, details);
}

/** One node incarnation's door to the simulated network (see Transport in src/cluster/runtime.ts). */
export class SimTransport implements Transport {
  private handler?: RequestHandler;
  private readonly pending = new Map<number, PendingRequest>();
  private state: 'open' | 'closed' | 'dead' = 'open';

  constructor(
    readonly self: NodeId,
    private readonly network: SimNetwork,
    private readonly clock: Clock,
  ) {}

  get alive(): boolean {
    return this.state === 'open';
  }

  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  request(to: NodeId, msg: Message, timeoutMs: number): Promise<Message> {
    // A dead incarnation's code must not make progress: its calls never settle.
    if (this.state === 'dead') return new Promise<Message>(() => {});
    if (this.state === 'closed') return Promise.reject(new RingkvError('PEER_UNREACHABLE', `transport of ${this.self} is closed`));
    const id = this.network.newMessageId();
    const what = `req#${id} ${msg.type}`;
    const sim = this.network.sim;
    const payload = structuredClone(msg);
    sim.trace(`send ${this.self}->${to} ${what} ${this.network.traceBody(payload)}`);
    return new Promise<Message>((resolve, reject) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        if (!this.pending.delete(id)) return;
        sim.trace(`timeout ${this.self}->${to} ${what} after ${timeoutMs}ms`);
        reject(new RingkvError('TIMEOUT', `request ${msg.type} to ${to} timed out after ${timeoutMs} ms`));
      });
      this.pending.set(id, { resolve, reject, timer, to });
      this.network.transmit(this.self, to, what, (copy) => this.arriveAtPeer(to, id, what, payload, copy));
    });
  }

  send(to: NodeId, msg: Message): void {
    if (this.state !== 'open') return;
    const id = this.network.newMessageId();
    const what = `msg#${id} ${msg.type}`;
    const payload = structuredClone(msg);
    const sim = this.network.sim;
    sim.trace(`send ${this.self}->${to} ${what} ${this.network.traceBody(payload)}`);
    this.network.transmit(this.self, to, what, (copy) => {
      const peer = this.network.receiver(to);
      if (!peer || !peer.handler) {
        this.network.stats.undeliverable++;
        sim.trace(`lost ${this.self}->${to} ${what} (no listener)`);
        return;
      }
      sim.trace(`deliver ${this.self}->${to} ${what} copy ${copy}`);
      const from = this.self;
      void Promise.resolve()
        .then(() => peer.handler!(from, structuredClone(payload)))
        .catch((e: unknown) => sim.trace(`one-way handler at ${to} failed on ${what}: ${traceJson(errorReply(e))}`));
    });
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closed';
    for (const [id, p] of this.pending) {
      p.timer.cancel();
      this.pending.delete(id);
      p.reject(new RingkvError('PEER_UNREACHABLE', `transport of ${this.self} closed`));
    }
  }

  /** a crash: nothing delivered to or answered by this incarnation again; pending calls never settle */
  kill(): void {
    this.state = 'dead';
    for (const p of this.pending.values()) p.timer.cancel();
    this.pending.clear();
  }

  /** a request copy reaches peer `to` */
  private arriveAtPeer(to: NodeId, id: number, what: string, payload: Message, copy: number): void {
    const sim = this.network.sim;
    const peer = this.network.receiver(to);
    if (!peer || !peer.handler) {
      if (this.network.refuse()) {
        this.network.stats.refused++;
        sim.trace(`refused ${this.self}->${to} ${what} copy ${copy}`);
        this.network.transmit(to, this.self, `refusal of ${what}`, () =>
          this.settle(id, undefined, new RingkvError('PEER_UNREACHABLE', `${to} refused the connection`)),
        );
      } else {
        this.network.stats.undeliverable++;
        sim.trace(`lost ${this.self}->${to} ${what} copy ${copy} (${to} not listening)`);
      }
      return;
    }
    sim.trace(`deliver ${this.self}->${to} ${what} copy ${copy}`);
    const from = this.self;
    void Promise.resolve()
      .then(() => peer.handler!(from, structuredClone(payload)))
      .then(
        (reply) => (reply && typeof reply === 'object' ? reply : errorReply(new RingkvError('INTERNAL', `handler at ${to} replied with ${String(reply)}`))),
        (e: unknown) => errorReply(e),
      )
      .then((reply) => {
        // The answering incarnation may have crashed while its handler ran.
        if (!peer.alive) return;
        const replyCopy = structuredClone(reply);
        sim.trace(`reply ${to}->${from} ${what} copy ${copy} ${this.network.traceBody(replyCopy)}`);
        this.network.transmit(to, from, `reply to ${what}`, () => {
          if (reply.type === 'error') this.settle(id, undefined, errorFromReply(replyCopy));
          else this.settle(id, structuredClone(replyCopy), undefined);
        });
      });
  }

  /** first answer wins; later copies (duplicates) and answers after a timeout are ignored */
  private settle(id: number, reply: Message | undefined, error: RingkvError | undefined): void {
    if (this.state !== 'open') return;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.timer.cancel();
    if (error) p.reject(error);
    else p.resolve(reply!);
  }
}
