/**
 * The Transport of the real runtime: framed msgpack over TCP, one multiplexed connection per peer pair.
 *
 * Which connection carries our requests to peer P (both sides apply the same rule, so they agree):
 *  - when we are the smaller node id, the connection we dialled;
 *  - when P is the smaller id, the connection P dialled if there is one, else one we dialled.
 * So when both dial at once, the larger side moves to the smaller side's connection and retires its
 * own (it closes once its requests in flight on it are answered), leaving exactly one. Every
 * connection serves the requests that arrive on it and replies on it, whoever dialled it.
 *
 * A failed dial puts the peer in exponential backoff (with jitter); during backoff requests to it
 * fail at once with PEER_UNREACHABLE instead of piling up. A connection lost after its handshake is
 * redialled on the next request, without waiting.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { RingkvError } from '../core/errors.js';
import type { NodeId } from '../core/member.js';
import { silentLogger, type Logger, type Message, type RequestHandler, type Transport } from '../cluster/runtime.js';
import { cloneViaMsgpack, DEFAULT_MAX_FRAME_BYTES } from './frame-codec.js';
import { errorFromWire, isMessage } from './envelope.js';
import { PeerConnection, type ConnectionEvents } from './peer-connection.js';
import { newNetCounters, type NetCounters } from './net-counters.js';

export interface TransportStats extends NetCounters {
  /** open connections, including ones still in their handshake */
  connections: number;
  /** our requests waiting for a reply */
  pendingRequests: number;
  /** peers we are not dialling because a recent dial failed */
  peersInBackoff: number;
  /** bytes queued for peers and not yet taken by the kernel (the send queue's depth) */
  outboundQueueBytes: number;
}

export interface PeerAddress {
  host: string;
  port: number;
}

export interface ReconnectBackoff {
  /** wait after the first failed dial @default 50 */
  initialMs: number;
  /** the wait doubles per failed dial up to this @default 2000 */
  maxMs: number;
}

export interface TcpTransportOptions {
  self: NodeId;
  /**
   * the cluster secret: every connection proves it both ways before any message (cluster-auth.ts);
   * a peer that cannot is refused and counted (authRefused), and never reaches the handler
   */
  clusterSecret: Uint8Array;
  /** interface to listen on, e.g. '127.0.0.1' or '0.0.0.0' */
  listenHost: string;
  /** 0 picks a free port; read `transport.port` after listen() */
  listenPort: number;
  /** where a peer listens; undefined = unknown peer (requests to it fail with PEER_UNREACHABLE) */
  resolvePeer: (id: NodeId) => PeerAddress | undefined;
  logger?: Logger;
  /** largest frame payload sent or accepted @default DEFAULT_MAX_FRAME_BYTES (17 MiB) */
  maxFrameBytes?: number;
  /** per connection: past this many unsent bytes new requests fail with PEER_UNREACHABLE @default 64 MiB */
  maxOutboundBytes?: number;
  /** per connection: with this many of our requests unanswered, new ones fail with PEER_UNREACHABLE @default 16384 */
  maxPendingRequests?: number;
  /**
   * per connection: with this many of the peer's requests being served, further ones are answered
   * OVERLOADED at once (nothing done) instead of queueing without bound @default 16384
   */
  maxServingRequests?: number;
  /** TCP connect plus the handshake must complete within this @default 2000 */
  connectTimeoutMs?: number;
  /** @default { initialMs: 50, maxMs: 2000 } */
  reconnectBackoff?: ReconnectBackoff;
}

export const DEFAULT_MAX_OUTBOUND_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_PENDING_REQUESTS = 16_384;
export const DEFAULT_MAX_SERVING_REQUESTS = 16_384;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
export const DEFAULT_RECONNECT_BACKOFF: ReconnectBackoff = { initialMs: 50, maxMs: 2000 };

/** What we know of one peer between connections. */
interface PeerLink {
  /** carries our requests and one-way messages to the peer */
  active: PeerConnection | undefined;
  /** failed dials in a row */
  failures: number;
  /** no dial before this (epoch ms) */
  retryAtMs: number;
  lastError: string;
  /** a connection to this peer completed its handshake at some point */
  everConnected: boolean;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class TcpTransport implements Transport {
  readonly self: NodeId;
  private readonly clusterSecret: Uint8Array;
  private readonly listenHost: string;
  private readonly listenPort: number;
  private readonly resolvePeer: (id: NodeId) => PeerAddress | undefined;
  private readonly logger: Logger;
  private readonly maxFrameBytes: number;
  private readonly maxOutboundBytes: number;
  private readonly maxPendingRequests: number;
  private readonly maxServingRequests: number;
  private readonly connectTimeoutMs: number;
  private readonly backoff: ReconnectBackoff;
  private readonly server: Server;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly connections = new Set<PeerConnection>();
  private readonly counters = newNetCounters();
  private handler: RequestHandler | undefined;
  private listening = false;
  private closed = false;
  private boundPort = 0;

  constructor(options: TcpTransportOptions) {
    if (!options.self) throw new RingkvError('BAD_PARAMETER', 'TcpTransport needs a non-empty self node id');
    this.self = options.self;
    if (!(options.clusterSecret instanceof Uint8Array) || options.clusterSecret.length === 0) throw new RingkvError('BAD_PARAMETER', 'TcpTransport needs a cluster secret');
    this.clusterSecret = options.clusterSecret;
    this.listenHost = options.listenHost;
    this.listenPort = options.listenPort;
    this.resolvePeer = options.resolvePeer;
    this.logger = options.logger ?? silentLogger;
    this.maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.maxOutboundBytes = positive('maxOutboundBytes', options.maxOutboundBytes ?? DEFAULT_MAX_OUTBOUND_BYTES);
    this.maxPendingRequests = positive('maxPendingRequests', options.maxPendingRequests ?? DEFAULT_MAX_PENDING_REQUESTS);
    this.maxServingRequests = positive('maxServingRequests', options.maxServingRequests ?? DEFAULT_MAX_SERVING_REQUESTS);
    this.connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    const backoff = options.reconnectBackoff ?? DEFAULT_RECONNECT_BACKOFF;
    this.backoff = { initialMs: positive('reconnectBackoff.initialMs', backoff.initialMs), maxMs: positive('reconnectBackoff.maxMs', backoff.maxMs) };
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.logger.error({ err: err.message }, 'internode listener error'));
  }

  /** the port listened on (the real one when listenPort was 0); 0 before listen() */
  get port(): number {
    return this.boundPort;
  }

  listen(): Promise<void> {
    if (this.closed) return Promise.reject(new RingkvError('INTERNAL', 'transport is closed'));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.listenPort, this.listenHost, () => {
        this.server.off('error', onError);
        this.listening = true;
        this.boundPort = (this.server.address() as AddressInfo).port;
        this.logger.info({ node: this.self, host: this.listenHost, port: this.boundPort }, 'internode transport listening');
        resolve();
      });
    });
  }

  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  request(to: NodeId, msg: Message, timeoutMs: number): Promise<Message> {
    if (to === this.self) return this.requestSelf(msg, timeoutMs);
    let conn: PeerConnection;
    try {
      conn = this.connectionTo(to);
    } catch (e) {
      return Promise.reject(e);
    }
    return conn.request(msg, timeoutMs);
  }

  send(to: NodeId, msg: Message): void {
    if (to === this.self) {
      this.sendSelf(msg);
      return;
    }
    let conn: PeerConnection;
    try {
      conn = this.connectionTo(to);
    } catch {
      return; // fire and forget: an unreachable peer just misses it
    }
    conn.sendOneWay(msg);
  }

  /** open connections, to one peer or in all (including ones not yet through their handshake) */
  connectionCount(peer?: NodeId): number {
    if (peer === undefined) return this.connections.size;
    let count = 0;
    for (const conn of this.connections) if (conn.peerId === peer) count++;
    return count;
  }

  /** requests of ours waiting for a reply, over all connections */
  pendingRequestCount(): number {
    let count = 0;
    for (const conn of this.connections) count += conn.pendingCount;
    return count;
  }

  /** a snapshot of counters and gauges, for the metrics endpoint */
  stats(): TransportStats {
    const nowMs = Date.now();
    let peersInBackoff = 0;
    for (const link of this.links.values()) if (link.retryAtMs > nowMs) peersInBackoff++;
    let outboundQueueBytes = 0;
    for (const conn of this.connections) outboundQueueBytes += conn.outboundBytes;
    return { ...this.counters, connections: this.connections.size, pendingRequests: this.pendingRequestCount(), peersInBackoff, outboundQueueBytes };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const conn of [...this.connections]) conn.close('closed: this node is shutting down');
    if (!this.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- connections -----------------------------------------------------------------------------

  private unreachable(peer: NodeId, why: string): RingkvError {
    return new RingkvError('PEER_UNREACHABLE', `peer ${peer} unreachable: ${why}`, { peer });
  }

  private linkFor(peer: NodeId): PeerLink {
    let link = this.links.get(peer);
    if (!link) {
      link = { active: undefined, failures: 0, retryAtMs: 0, lastError: '', everConnected: false };
      this.links.set(peer, link);
    }
    return link;
  }

  /** the connection for our traffic to peer, dialling one when there is none; throws PEER_UNREACHABLE */
  private connectionTo(peer: NodeId): PeerConnection {
    if (this.closed) throw this.unreachable(peer, 'this transport is closed');
    const link = this.linkFor(peer);
    if (link.active?.usable) return link.active;
    const waitMs = link.retryAtMs - Date.now();
    if (waitMs > 0) throw this.unreachable(peer, `reconnect backoff for another ${Math.ceil(waitMs)} ms after: ${link.lastError}`);
    const address = this.resolvePeer(peer);
    if (!address) throw this.unreachable(peer, 'unknown peer (no address)');
    if (link.everConnected) this.counters.reconnects++;
    let conn: PeerConnection;
    try {
      conn = this.dial(peer, address);
    } catch (e) {
      // e.g. a port out of range: net.connect throws instead of failing asynchronously
      throw this.unreachable(peer, `cannot dial ${address.host}:${address.port}: ${e instanceof Error ? e.message : String(e)}`);
    }
    link.active = conn;
    return conn;
  }

  private readonly events: ConnectionEvents = {
    onHello: (conn) => this.onHello(conn),
    onRequest: (conn, id, message) => this.serveRequest(conn, id, message),
    onOneWay: (conn, message) => this.serveOneWay(conn, message),
    onClose: (conn) => this.onConnectionClose(conn),
  };

  private newConnection(socket: Socket, remoteAddress: string, dialedPeer?: NodeId): PeerConnection {
    const conn = new PeerConnection({
      socket,
      selfId: this.self,
      secret: this.clusterSecret,
      dialedPeer,
      remoteAddress,
      maxFrameBytes: this.maxFrameBytes,
      maxOutboundBytes: this.maxOutboundBytes,
      maxPendingRequests: this.maxPendingRequests,
      handshakeTimeoutMs: this.connectTimeoutMs,
      logger: this.logger,
      events: this.events,
      counters: this.counters,
    });
    this.connections.add(conn);
    return conn;
  }

  private dial(peer: NodeId, address: PeerAddress): PeerConnection {
    this.logger.debug({ peer, host: address.host, port: address.port }, 'dialling peer');
    const socket = connect({ host: address.host, port: address.port, noDelay: true });
    return this.newConnection(socket, `${address.host}:${address.port}`, peer);
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.newConnection(socket, `${socket.remoteAddress}:${socket.remotePort}`);
  }

  private onHello(conn: PeerConnection): boolean {
    const peer = conn.peerId as NodeId;
    if (peer === this.self) {
      this.logger.warn({ remote: conn.remoteAddress }, 'refusing an internode connection that claims our own node id');
      return false;
    }
    const link = this.linkFor(peer);
    // The peer answered or dialled us: it is alive, so forget any backoff.
    link.failures = 0;
    link.retryAtMs = 0;
    link.everConnected = true;
    if (!conn.dialedBySelf && peer < this.self) {
      // The smaller id's connection wins; ours (or an older one of theirs) drains and closes.
      const previous = link.active;
      link.active = conn;
      if (previous && previous !== conn) previous.retire();
    }
    this.logger.debug({ peer, dialedBySelf: conn.dialedBySelf, remote: conn.remoteAddress }, 'internode connection established');
    return true;
  }

  private onConnectionClose(conn: PeerConnection): void {
    this.connections.delete(conn);
    const peer = conn.peerId;
    if (peer === undefined) return;
    const link = this.links.get(peer);
    if (!link) return;
    if (link.active === conn) link.active = undefined;
    // a dial we gave up ourselves (retired for the peer's connection) is no sign the peer is down
    if (conn.dialedBySelf && !conn.handshakeDone && !conn.retiring && !this.closed) {
      link.failures++;
      this.counters.dialFailures++;
      link.lastError = `connection ${conn.closeReason}`;
      const baseMs = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(link.failures - 1, 30));
      // jitter keeps a cluster from redialling a recovered node in lockstep
      const waitMs = Math.min(this.backoff.maxMs, baseMs * (0.8 + 0.4 * Math.random()));
      link.retryAtMs = Date.now() + waitMs;
      this.logger.debug({ peer, failures: link.failures, waitMs: Math.round(waitMs), reason: conn.closeReason }, 'dial failed; backing off');
    } else {
      this.logger.debug({ peer, reason: conn.closeReason }, 'internode connection closed');
    }
  }

  // --- serving -----------------------------------------------------------------------------------

  private serveRequest(conn: PeerConnection, id: number, message: Message): void {
    const handler = this.handler;
    if (!handler) {
      conn.sendError(id, new RingkvError('PEER_UNREACHABLE', `node ${this.self} is not serving requests yet`));
      return;
    }
    if (conn.serving >= this.maxServingRequests) {
      this.counters.requestsRefusedOverloaded++;
      conn.sendError(id, new RingkvError('OVERLOADED', `node ${this.self} is already serving ${conn.serving} requests from ${conn.peerId} (maxServingRequests ${this.maxServingRequests}); ${message.type} refused, nothing done`));
      return;
    }
    conn.serving++;
    let result: Promise<Message>;
    try {
      result = handler(conn.peerId as NodeId, message);
    } catch (e) {
      conn.serving--;
      this.replyWithError(conn, id, message, e);
      return;
    }
    Promise.resolve(result).then(
      (reply) => {
        conn.serving--;
        conn.sendReply(id, reply);
      },
      (e: unknown) => {
        conn.serving--;
        this.replyWithError(conn, id, message, e);
      },
    );
  }

  private replyWithError(conn: PeerConnection, id: number, message: Message, e: unknown): void {
    if (!(e instanceof RingkvError)) {
      this.logger.warn({ peer: conn.peerId, type: message.type, err: e instanceof Error ? e.stack : String(e) }, 'request handler failed');
    }
    conn.sendError(id, e);
  }

  private serveOneWay(conn: PeerConnection, message: Message): void {
    this.deliverOneWay(conn.peerId as NodeId, message);
  }

  private deliverOneWay(from: NodeId, message: Message): void {
    const handler = this.handler;
    if (!handler) return;
    try {
      Promise.resolve(handler(from, message)).catch((e: unknown) => this.logOneWayFailure(from, message, e));
    } catch (e) {
      this.logOneWayFailure(from, message, e);
    }
  }

  private logOneWayFailure(from: NodeId, message: Message, e: unknown): void {
    const level = e instanceof RingkvError ? 'debug' : 'warn';
    this.logger[level]({ peer: from, type: message.type, err: e instanceof Error ? e.message : String(e) }, 'one-way message handler failed');
  }

  /** to ourselves: no socket, but the same msgpack round trip, error mapping and timeout as a peer's */
  private requestSelf(msg: Message, timeoutMs: number): Promise<Message> {
    const handler = this.handler;
    if (this.closed) return Promise.reject(this.unreachable(this.self, 'this transport is closed'));
    if (!handler) return Promise.reject(this.unreachable(this.self, 'no request handler installed'));
    if (!(timeoutMs > 0)) {
      if (Number.isNaN(timeoutMs)) return Promise.reject(new RingkvError('BAD_PARAMETER', `request timeoutMs must be a number, got ${timeoutMs}`));
      return Promise.reject(new RingkvError('TIMEOUT', `request ${msg.type} to ${this.self} timed out after ${timeoutMs} ms`));
    }
    let copy: Message;
    try {
      copy = cloneViaMsgpack(msg);
    } catch (e) {
      return Promise.reject(new RingkvError('INTERNAL', `cannot encode ${msg.type}: ${String(e)}`));
    }
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RingkvError('TIMEOUT', `request ${msg.type} to ${this.self} timed out after ${timeoutMs} ms`)),
        Math.min(timeoutMs, MAX_TIMER_MS),
      );
      Promise.resolve()
        .then(() => handler(this.self, copy))
        .then(
          (reply) => {
            clearTimeout(timer);
            if (!isMessage(reply)) throw new RingkvError('INTERNAL', 'request handler returned something that is not a message');
            const replyCopy = cloneViaMsgpack(reply);
            if (replyCopy.type === 'error') throw errorFromWire(replyCopy.code, replyCopy.message);
            resolve(replyCopy);
          },
          (e: unknown) => {
            clearTimeout(timer);
            throw e;
          },
        )
        .catch((e: unknown) => {
          if (!(e instanceof RingkvError)) this.logger.warn({ type: msg.type, err: e instanceof Error ? e.stack : String(e) }, 'request handler failed');
          reject(e instanceof RingkvError ? new RingkvError(e.code, e.message) : new RingkvError('INTERNAL', e instanceof Error ? e.message : String(e)));
        });
    });
  }

  private sendSelf(msg: Message): void {
    if (this.closed) return;
    let copy: Message;
    try {
      copy = cloneViaMsgpack(msg);
    } catch {
      return;
    }
    queueMicrotask(() => this.deliverOneWay(this.self, copy));
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RingkvError('BAD_PARAMETER', `TcpTransport option ${name} must be a positive number, got ${value}`);
  return value;
}
