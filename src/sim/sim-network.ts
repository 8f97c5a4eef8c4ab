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
  /**
   * chance that the connection carrying a delivered request resets: the handler runs (the request is
   * applied), its reply is lost, and the caller gets CONNECTION_LOST one latency later — sometimes
   * before the handler has even finished @default 0
   */
  resetProbability: number;
  /**
   * chance, per request a node had received and not yet answered when it crashes, that the caller
   * learns of it with CONNECTION_LOST one latency later (the dead process's connections were reset)
   * rather than by timing out @default 0.5
   */
  resetOnCrashProbability: number;
}

export const DEFAULT_NETWORK_FAULTS: NetworkFaults = {
  latencyBaseMs: 1,
  latencyTailMeanMs: 4,
  latencyMaxMs: 200,
  dropProbability: 0,
  duplicateProbability: 0,
  refuseProbability: 0.5,
  resetProbability: 0,
  resetOnCrashProbability: 0.5,
};

/**
 * What a scripted rule does to a matching message:
 * - drop: lost on the wire (a request's caller times out);
 * - refuse: a request is refused before delivery — the caller gets PEER_UNREACHABLE one round trip
 *   later and the peer never sees it;
 * - reset: a request is delivered and its handler runs, but the connection resets — the caller gets
 *   CONNECTION_LOST and the reply is lost (`resetWhen` says whether the reset comes as the request
 *   arrives, racing the handler, or once the handler has answered);
 * - hold: kept off the wire until the rule's release() (a delayed or partitioned link).
 */
export type RuleAction = 'drop' | 'refuse' | 'reset' | 'hold';

/** when a reset connection fails: as the request arrives, or once its handler has answered */
export type ResetWhen = 'on-delivery' | 'after-handler';

export interface MessageMatch {
  from: NodeId;
  to: NodeId;
  msg: Message;
  /** a request (expects a reply) or a one-way message */
  kind: 'request' | 'one-way';
}

export interface MessageRule {
  match: (m: MessageMatch) => boolean;
  action: RuleAction;
  /** acts on this many matching messages, then retires @default Infinity */
  times?: number;
  /** reset only @default 'after-handler' */
  resetWhen?: ResetWhen;
}

export interface RuleHandle {
  /** matching messages acted on so far */
  readonly fired: number;
  /** retires the rule (held messages stay held until release) */
  remove(): void;
  /** retires the rule and puts every held message on the wire, each with a fresh delay */
  release(): void;
}

interface ActiveRule {
  rule: MessageRule;
  fired: number;
  removed: boolean;
  held: Array<() => void>;
}

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
  /** connections reset after a request was delivered (at random, by a rule, or by the peer's crash) */
  resets: number;
  /** messages a scripted rule acted on */
  scripted: number;
}

interface Endpoint {
  current?: SimTransport;
  /** partition group: nodes talk only within their group */
  group: number;
}

/**
 * The copies of one request on the wire (duplication makes two). A refused copy proves nothing
 * while another copy may still arrive, or already has: the caller is told PEER_UNREACHABLE only
 * once every copy has failed to arrive and at least one was refused.
 */
interface RequestCopies {
  /** copies put on the wire that have neither arrived nor been cut */
  onWire: number;
  /** some copy reached a listening handler */
  delivered: boolean;
  /** some copy was refused and the caller has not been told yet */
  refusalOwed: boolean;
}

interface PendingRequest {
  resolve: (m: Message) => void;
  reject: (e: RingkvError) => void;
  timer: TimerHandle;
  to: NodeId;
  what: string;
  /** the incarnation a copy was delivered to, so its crash can reset the connection */
  deliveredTo?: SimTransport;
}

/**
 * The simulated network between nodes: latency with a tail (hence reordering), loss, duplication,
 * partitions, crashes, connection resets after delivery, and scripted rules for targeted tests.
 * Each node incarnation gets a fresh SimTransport from attach(); crash() silences it. Messages are
 * structuredClone'd on delivery so nodes never share objects.
 *
 * Errors follow the Transport contract (src/cluster/runtime.ts): PEER_UNREACHABLE only when the
 * request was certainly not delivered (refused, every copy of it when it was duplicated; transport
 * closed before sending); CONNECTION_LOST when the connection failed after the request was sent
 * (reset after delivery, the peer crashed holding it, the caller's transport closed with it
 * pending); TIMEOUT otherwise.
 */
export class SimNetwork {
  faults: NetworkFaults;
  /**
   * Whether traces carry message bodies. Off for large runs (a 1000-member gossip digest is tens of
   * KB of JSON per message); the trace then still records every send, delivery, drop and reply.
   */
  tracePayloads = true;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, refused: 0, undeliverable: 0, resets: 0, scripted: 0 };
  private readonly endpoints = new Map<NodeId, Endpoint>();
  private rules: ActiveRule[] = [];
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

  /**
   * The node stops sending, receiving and answering; its own pending requests never settle. Requests
   * it had received and not answered fail at their callers with CONNECTION_LOST (with
   * resetOnCrashProbability each) or time out.
   */
  crash(id: NodeId): void {
    const endpoint = this.endpoint(id);
    const dead = endpoint.current;
    dead?.kill();
    endpoint.current = undefined;
    this.sim.trace(`net crash ${id}`);
    if (!dead) return;
    for (const [caller, e] of this.endpoints) {
      if (caller !== id && e.current?.alive) e.current.resetRequestsDeliveredTo(dead);
    }
  }

  /** Installs a scripted rule; rules are consulted in the order added, the first match acts. */
  addRule(rule: MessageRule): RuleHandle {
    const active: ActiveRule = { rule, fired: 0, removed: false, held: [] };
    this.rules.push(active);
    const remove = (): void => {
      active.removed = true;
      this.rules = this.rules.filter((r) => r !== active);
    };
    return {
      get fired() {
        return active.fired;
      },
      remove,
      release: () => {
        remove();
        const held = active.held.splice(0);
        this.sim.trace(`net release ${held.length} held message(s)`);
        for (const put of held) put();
      },
    };
  }

  /** the first live rule matching m, counted as fired */
  matchRule(m: MessageMatch): ActiveRule | undefined {
    for (const r of this.rules) {
      if (r.removed || r.fired >= (r.rule.times ?? Infinity) || !r.rule.match(m)) continue;
      r.fired++;
      this.stats.scripted++;
      return r;
    }
    return undefined;
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
  transmit(from: NodeId, to: NodeId, what: string, arrive: (copy: number) => void, cut?: () => void): number {
    this.stats.sent++;
    const loopback = from === to;
    if (!loopback && this.random.chance(this.faults.dropProbability)) {
      this.stats.dropped++;
      this.sim.trace(`drop ${from}->${to} ${what}`);
      return 0;
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
          cut?.();
          return;
        }
        this.stats.delivered++;
        arrive(copy);
      });
    }
    return copies;
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

  /** whether a delivered request's connection resets at random, and when */
  randomReset(): ResetWhen | undefined {
    if (!this.random.chance(this.faults.resetProbability)) return undefined;
    return this.random.chance(0.5) ? 'on-delivery' : 'after-handler';
  }

  resetOnCrash(): boolean {
    return this.random.chance(this.faults.resetOnCrashProbability);
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
    const rule = to === this.self ? undefined : this.network.matchRule({ from: this.self, to, msg: payload, kind: 'request' });
    return new Promise<Message>((resolve, reject) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        if (!this.pending.delete(id)) return;
        sim.trace(`timeout ${this.self}->${to} ${what} after ${timeoutMs}ms`);
        reject(new RingkvError('TIMEOUT', `request ${msg.type} to ${to} timed out after ${timeoutMs} ms`));
      });
      this.pending.set(id, { resolve, reject, timer, to, what });
      const copies: RequestCopies = { onWire: 0, delivered: false, refusalOwed: false };
      const transmit = (reset?: ResetWhen): void => {
        copies.onWire += this.network.transmit(
          this.self,
          to,
          what,
          (copy) => this.arriveAtPeer(to, id, what, payload, copy, copy === 0 ? reset : undefined, copies),
          () => this.copyGone(to, id, what, copies),
        );
      };
      switch (rule?.rule.action) {
        case undefined:
          return transmit();
        case 'drop':
          sim.trace(`rule drops ${this.self}->${to} ${what}`);
          return;
        case 'hold':
          sim.trace(`rule holds ${this.self}->${to} ${what}`);
          rule.held.push(() => transmit());
          return;
        case 'refuse':
          sim.trace(`rule refuses ${this.self}->${to} ${what}`);
          return this.refuseLater(to, id, what);
        case 'reset':
          sim.trace(`rule will reset ${this.self}->${to} ${what} ${rule.rule.resetWhen ?? 'after-handler'}`);
          return transmit(rule.rule.resetWhen ?? 'after-handler');
      }
    });
  }

  send(to: NodeId, msg: Message): void {
    if (this.state !== 'open') return;
    const id = this.network.newMessageId();
    const what = `msg#${id} ${msg.type}`;
    const payload = structuredClone(msg);
    const sim = this.network.sim;
    sim.trace(`send ${this.self}->${to} ${what} ${this.network.traceBody(payload)}`);
    const deliver = (copy: number): void => {
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
    };
    const rule = to === this.self ? undefined : this.network.matchRule({ from: this.self, to, msg: payload, kind: 'one-way' });
    if (rule?.rule.action === 'hold') {
      sim.trace(`rule holds ${this.self}->${to} ${what}`);
      rule.held.push(() => this.network.transmit(this.self, to, what, deliver));
    } else if (rule) {
      // drop, refuse and reset all lose a one-way message
      sim.trace(`rule ${rule.rule.action} loses ${this.self}->${to} ${what}`);
    } else {
      this.network.transmit(this.self, to, what, deliver);
    }
  }

  /** Pending requests were sent, so they may have been applied: they fail with CONNECTION_LOST. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closed';
    for (const [id, p] of this.pending) {
      p.timer.cancel();
      this.pending.delete(id);
      p.reject(new RingkvError('CONNECTION_LOST', `transport of ${this.self} closed with ${p.what} to ${p.to} in flight: the peer may have applied it`));
    }
  }

  /** a crash: nothing delivered to or answered by this incarnation again; pending calls never settle */
  kill(): void {
    this.state = 'dead';
    for (const p of this.pending.values()) p.timer.cancel();
    this.pending.clear();
  }

  /** `dead` crashed: requests it had received from us lose their connection (or just time out) */
  resetRequestsDeliveredTo(dead: SimTransport): void {
    for (const [id, p] of this.pending) {
      if (p.deliveredTo !== dead || !this.network.resetOnCrash()) continue;
      this.resetLater(p.to, id, p.what, `${p.to} crashed`);
    }
  }

  /** the caller learns one latency later that the connection carrying request `id` reset */
  private resetLater(to: NodeId, id: number, what: string, why: string): void {
    this.network.stats.resets++;
    this.network.sim.trace(`reset ${this.self}<->${to} ${what}: ${why}`);
    this.network.transmit(to, this.self, `reset of ${what}`, () =>
      this.settle(id, undefined, new RingkvError('CONNECTION_LOST', `connection to ${to} reset with request ${what} in flight (${why}): the peer may have applied it`)),
    );
  }

  /** the caller learns one round trip later that request `id` was refused (it was never delivered) */
  private refuseLater(to: NodeId, id: number, what: string): void {
    this.network.stats.refused++;
    this.network.transmit(to, this.self, `refusal of ${what}`, () => this.settle(id, undefined, new RingkvError('PEER_UNREACHABLE', `${to} refused the connection`)));
  }

  /**
   * A copy of a request left the wire without being delivered. Once no copy is left and none was
   * delivered, an owed refusal reaches the caller: only then is "certainly not delivered"
   * (PEER_UNREACHABLE, the Transport contract) true — a refused duplicate whose twin is still on the
   * wire would otherwise let the caller retry elsewhere while the twin is applied.
   */
  private copyGone(to: NodeId, id: number, what: string, copies: RequestCopies): void {
    copies.onWire--;
    if (!copies.refusalOwed || copies.onWire > 0 || copies.delivered) return;
    copies.refusalOwed = false;
    this.refuseLater(to, id, what);
  }

  /** a request copy reaches peer `to`; `forcedReset` comes from a scripted rule */
  private arriveAtPeer(to: NodeId, id: number, what: string, payload: Message, copy: number, forcedReset: ResetWhen | undefined, copies: RequestCopies): void {
    const sim = this.network.sim;
    const peer = this.network.receiver(to);
    if (!peer || !peer.handler) {
      if (this.network.refuse()) {
        const twin = copies.delivered
          ? ' (another copy was delivered: the caller is not told)'
          : copies.onWire > 1
            ? ' (another copy is still on the wire: the caller is told only if it fails to arrive too)'
            : '';
        sim.trace(`refused ${this.self}->${to} ${what} copy ${copy}${twin}`);
        copies.refusalOwed = true;
      } else {
        this.network.stats.undeliverable++;
        sim.trace(`lost ${this.self}->${to} ${what} copy ${copy} (${to} not listening)`);
      }
      this.copyGone(to, id, what, copies);
      return;
    }
    copies.onWire--;
    copies.delivered = true;
    sim.trace(`deliver ${this.self}->${to} ${what} copy ${copy}`);
    const pending = this.pending.get(id);
    if (pending) pending.deliveredTo = peer;
    const reset = forcedReset ?? (to === this.self ? undefined : this.network.randomReset());
    if (reset === 'on-delivery') this.resetLater(to, id, what, 'reset as the request arrived');
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
        if (reset === 'on-delivery') return;
        if (reset === 'after-handler') {
          this.resetLater(to, id, what, 'reset before the reply was sent');
          return;
        }
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
