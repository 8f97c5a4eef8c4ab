/**
 * Internode message dispatch: each subsystem (gossip, replication, transfers, hints, anti-entropy)
 * registers its own message types with a validator and a handler, in its own files, instead of one
 * switch in the node. The router is the transport's request handler:
 * - an unknown type is answered UNKNOWN_MESSAGE;
 * - the validator runs first and turns the raw message into a typed one, throwing on anything malformed;
 *   the peer gets the error reply (MALFORMED_REQUEST, or whatever RingkvError the validator threw), the
 *   handler never sees the message, and the refusal is counted and logged;
 * - a handler's RingkvError goes back to the peer as is; anything else it throws becomes INTERNAL
 *   (logged), so a peer can never crash the node.
 * Logging is thinned per (type, code): the 1st, 2nd, 4th, 8th… refusal is logged, so a peer flooding
 * bad messages cannot flood the log.
 */
import { RingkvError } from '../core/errors.js';
import type { NodeId } from '../core/member.js';
import { silentLogger, type Logger, type Message, type RequestHandler, type Transport } from './runtime.js';

export type MessageValidator<M extends Message> = (msg: Message) => M;
export type MessageHandler<M extends Message> = (from: NodeId, msg: M) => Promise<Message> | Message;

interface Route {
  validate: MessageValidator<Message>;
  handle: MessageHandler<Message>;
}

export interface RouterStats {
  /** messages handed to a handler, by type */
  handled: Record<string, number>;
  /** messages refused before a handler saw them, by `${type}:${code}` (type '?' when it had none) */
  refused: Record<string, number>;
  /** handlers that threw something that is not a RingkvError */
  handlerFailures: number;
}

export class MessageRouter {
  private readonly routes = new Map<string, Route>();
  private fallback?: RequestHandler;
  private readonly logger: Logger;
  private readonly stats: RouterStats = { handled: {}, refused: {}, handlerFailures: 0 };

  constructor(options: { logger?: Logger } = {}) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Routes messages of `type` to handle, after validate. A type can be registered once. */
  register<M extends Message>(type: string, validate: MessageValidator<M>, handle: MessageHandler<M>): void {
    if (this.routes.has(type)) throw new RingkvError('INTERNAL', `message type ${type} is registered twice`);
    this.routes.set(type, { validate, handle: handle as MessageHandler<Message> });
  }

  has(type: string): boolean {
    return this.routes.has(type);
  }

  /** Types without a route go here instead of being refused (for handlers not moved onto the router yet). */
  setFallback(handler: RequestHandler): void {
    this.fallback = handler;
  }

  /** Makes this router the transport's request handler. */
  attach(transport: Transport): void {
    transport.onRequest(this.handler);
  }

  /** The transport-shaped entry point. */
  readonly handler: RequestHandler = (from, msg) => this.dispatch(from, msg);

  async dispatch(from: NodeId, msg: Message): Promise<Message> {
    const type = msg !== null && typeof msg === 'object' && typeof msg.type === 'string' ? msg.type : undefined;
    const route = type === undefined ? undefined : this.routes.get(type);
    if (route === undefined) {
      if (type !== undefined && this.fallback) return this.fallback(from, msg);
      throw this.refuse(from, type ?? '?', new RingkvError('UNKNOWN_MESSAGE', `unknown internode message type ${JSON.stringify(type ?? null)}`));
    }
    let typed: Message;
    try {
      typed = route.validate(msg);
    } catch (e) {
      const err = e instanceof RingkvError ? e : new RingkvError('MALFORMED_REQUEST', `malformed ${type}: ${(e as Error)?.message ?? String(e)}`);
      throw this.refuse(from, type!, err);
    }
    this.stats.handled[type!] = (this.stats.handled[type!] ?? 0) + 1;
    try {
      return await route.handle(from, typed);
    } catch (e) {
      if (e instanceof RingkvError) throw e;
      this.stats.handlerFailures++;
      this.logger.error({ from, type, err: (e as Error)?.message ?? String(e) }, 'internode handler failed');
      throw new RingkvError('INTERNAL', `handler for ${type} failed`);
    }
  }

  /** Counts and (thinly) logs a refusal; returns the error to throw back to the peer. */
  refuse(from: NodeId, type: string, err: RingkvError): RingkvError {
    const key = `${type}:${err.code}`;
    const count = (this.stats.refused[key] ?? 0) + 1;
    this.stats.refused[key] = count;
    if ((count & (count - 1)) === 0) this.logger.warn({ from, type, code: err.code, err: err.message, count }, 'refused internode message');
    return err;
  }

  snapshotStats(): RouterStats {
    return { handled: { ...this.stats.handled }, refused: { ...this.stats.refused }, handlerFailures: this.stats.handlerFailures };
  }
}
