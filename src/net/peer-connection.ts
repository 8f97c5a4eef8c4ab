/**
 * One TCP connection to a peer, multiplexed: many requests in flight, matched to replies by id, and
 * requests from the peer served on the same connection. It knows nothing of which connection the
 * transport prefers; it reports hello, requests, one-way messages and its close to the transport.
 *
 * Before anything else both ends prove the cluster secret (cluster-auth.ts): the dialler holds its
 * requests until the acceptor has proved it, the acceptor handles nothing until the dialler has.
 *
 * Everything queued for the peer in one event-loop turn — requests, replies, one-way messages — leaves
 * as one batch frame in one socket write (frame-codec.ts), and one timer covers the deadlines of all
 * requests in flight (request-deadlines.ts).
 */
import type { Socket } from 'node:net';
import { RingkvError } from '../core/errors.js';
import type { NodeId } from '../core/member.js';
import type { Logger, Message } from '../cluster/runtime.js';
import { BATCH_OVERHEAD_BYTES, batchFrame, encodeEnvelope, envelopesOf, FrameDecoder } from './frame-codec.js';
import type { NetCounters } from './net-counters.js';
import { RequestDeadlines } from './request-deadlines.js';
import { newNonce, proofMatches, proofOf, type HandshakeIds } from './cluster-auth.js';
import {
  authEnvelope,
  errorEnvelope,
  errorFromWire,
  helloEnvelope,
  isMessage,
  KIND_AUTH,
  KIND_ERR,
  KIND_HELLO,
  KIND_MSG,
  KIND_REQ,
  KIND_RES,
  oneWayEnvelope,
  parseEnvelope,
  PROTOCOL_VERSION,
  replyEnvelope,
  requestEnvelope,
  type Envelope,
} from './envelope.js';

export interface ConnectionEvents {
  /** the peer said who it is and proved the cluster secret; return false to refuse the connection */
  onHello(conn: PeerConnection): boolean;
  onRequest(conn: PeerConnection, id: number, message: Message): void;
  onOneWay(conn: PeerConnection, message: Message): void;
  /** called once, synchronously when the connection is given up (pending requests already rejected) */
  onClose(conn: PeerConnection): void;
}

export interface PeerConnectionOptions {
  socket: Socket;
  selfId: NodeId;
  /** the cluster secret both ends must prove they hold */
  secret: Uint8Array;
  /** set when we dialled: the node we meant to reach (its hello must say so) */
  dialedPeer?: NodeId;
  /** for messages: host:port of the other end */
  remoteAddress: string;
  maxFrameBytes: number;
  /** above this many bytes waiting to be written, new requests and one-way messages are refused */
  maxOutboundBytes: number;
  /** with this many of our requests waiting for replies, new ones are refused (PEER_UNREACHABLE) */
  maxPendingRequests: number;
  /** the handshake (when dialling, the TCP connect too) must complete within this */
  handshakeTimeoutMs: number;
  logger: Logger;
  events: ConnectionEvents;
  /** shared with the transport's other connections */
  counters: NetCounters;
}

interface PendingRequest {
  resolve: (reply: Message) => void;
  reject: (error: RingkvError) => void;
  timeoutMs: number;
  type: string;
  /** flushSeq when the request was queued: a later flush handed it to the socket, so the peer may have it */
  queuedAt: number;
}

/** Messages queued in one tick leave in one frame; past this many bytes they go out at once. */
const FLUSH_NOW_BYTES = 256 * 1024;

export class PeerConnection {
  readonly dialedBySelf: boolean;
  readonly remoteAddress: string;
  /** the peer's node id: known up front when dialling, from its (authenticated) hello otherwise */
  peerId: NodeId | undefined;
  /** both hellos exchanged and the peer proved the cluster secret: messages flow */
  handshakeDone = false;
  /** no new outgoing requests; closes itself once the ones in flight are answered */
  retiring = false;
  closed = false;
  /** why the connection ended, for the errors of later callers */
  closeReason = '';

  private readonly socket: Socket;
  private readonly selfId: NodeId;
  private readonly secret: Uint8Array;
  private readonly nonce = newNonce();
  /** the acceptor's view of the handshake between the dialler's hello and its AUTH */
  private awaitingAuth: HandshakeIds | undefined;
  /** the dialler's messages queued before the acceptor proved the secret (sent right after our AUTH) */
  private held: Buffer[] | undefined;
  private heldBytes = 0;
  private readonly decoder: FrameDecoder;
  private readonly maxFrameBytes: number;
  private readonly maxOutboundBytes: number;
  private readonly maxPendingRequests: number;
  /** the peer's requests we are serving on this connection (the transport counts them) */
  serving = 0;
  private readonly logger: Logger;
  private readonly events: ConnectionEvents;
  private readonly counters: NetCounters;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly deadlines: RequestDeadlines;
  private nextRequestId = 1;
  /** packed envelopes waiting for this turn's batch frame */
  private outQueue: Buffer[] = [];
  private outQueueBytes = 0;
  private flushScheduled = false;
  /** socket writes so far; a request queued before the latest one may have reached the peer */
  private flushSeq = 0;
  /** the TCP connection was established (always, for an accepted socket): written bytes may have arrived */
  private socketConnected: boolean;
  /** we gave up on the other end as not the peer we meant (bad frames, wrong id, no hello): nothing reached that peer */
  private peerRejected = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private socketErrorCode: string | undefined;

  constructor(options: PeerConnectionOptions) {
    this.socket = options.socket;
    this.selfId = options.selfId;
    this.secret = options.secret;
    this.dialedBySelf = options.dialedPeer !== undefined;
    this.peerId = options.dialedPeer;
    this.remoteAddress = options.remoteAddress;
    this.maxFrameBytes = options.maxFrameBytes;
    this.maxOutboundBytes = options.maxOutboundBytes;
    this.maxPendingRequests = options.maxPendingRequests;
    this.logger = options.logger;
    this.events = options.events;
    this.counters = options.counters;
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    this.deadlines = new RequestDeadlines(this.onRequestTimeout);

    this.socketConnected = !this.dialedBySelf || !this.socket.connecting;
    if (!this.socketConnected) this.socket.once('connect', () => (this.socketConnected = true));
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 10_000);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.socketErrorCode = err.code ?? err.message;
    });
    this.socket.on('close', () => {
      const cause = this.socketErrorCode ?? 'closed by peer';
      this.markClosed(this.dialedBySelf && !this.handshakeDone ? `could not be established (${cause})` : `lost (${cause})`);
    });
    this.handshakeTimer = setTimeout(() => this.onHandshakeTimeout(options.handshakeTimeoutMs), options.handshakeTimeoutMs);
    // The dialler speaks first; what it queues before the acceptor's proof waits for it.
    if (this.dialedBySelf) {
      this.enqueueNow(encodeEnvelope(helloEnvelope(this.selfId, this.nonce), this.maxFrameBytes));
      this.held = [];
    }
  }

  /** usable for new outgoing requests */
  get usable(): boolean {
    return !this.closed && !this.retiring;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** bytes queued by us and not yet taken by the kernel */
  get outboundBytes(): number {
    return this.heldBytes + this.outQueueBytes + this.socket.writableLength;
  }

  private describePeer(): string {
    return this.peerId ?? this.remoteAddress;
  }

  private unreachable(why: string): RingkvError {
    return new RingkvError('PEER_UNREACHABLE', `peer ${this.describePeer()} unreachable: ${why}`, { peer: this.peerId });
  }

  request(message: Message, timeoutMs: number): Promise<Message> {
    if (this.closed) return Promise.reject(this.unreachable(`connection ${this.closeReason}`));
    if (this.outboundBytes > this.maxOutboundBytes) {
      return Promise.reject(this.unreachable(`send buffer full (${this.outboundBytes} bytes waiting, limit ${this.maxOutboundBytes})`));
    }
    if (this.pending.size >= this.maxPendingRequests) {
      this.counters.requestsRefusedPending++;
      return Promise.reject(this.unreachable(`${this.pending.size} requests already wait for replies (limit ${this.maxPendingRequests})`));
    }
    if (!(timeoutMs > 0)) {
      // NaN is a caller bug; zero or negative is a deadline already passed
      if (Number.isNaN(timeoutMs)) return Promise.reject(new RingkvError('BAD_PARAMETER', `request timeoutMs must be a number, got ${timeoutMs}`));
      return Promise.reject(new RingkvError('TIMEOUT', `request ${message.type} to ${this.describePeer()} timed out after ${timeoutMs} ms`, { peer: this.peerId }));
    }
    const id = this.nextRequestId++;
    let packed: Buffer;
    try {
      packed = encodeEnvelope(requestEnvelope(id, message), this.maxFrameBytes);
    } catch (e) {
      return Promise.reject(e instanceof RingkvError ? e : new RingkvError('INTERNAL', `cannot encode ${message.type}: ${String(e)}`));
    }
    return new Promise<Message>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, timeoutMs, type: message.type, queuedAt: this.flushSeq });
      this.deadlines.add(id, performance.now() + timeoutMs);
      this.enqueue(packed);
    });
  }

  /** fire and forget; false when dropped (closed or send buffer full) */
  sendOneWay(message: Message): boolean {
    if (this.closed || this.outboundBytes > this.maxOutboundBytes) return false;
    try {
      this.enqueue(encodeEnvelope(oneWayEnvelope(message), this.maxFrameBytes));
      return true;
    } catch (e) {
      this.logger.warn({ peer: this.peerId, type: message.type, err: String(e) }, 'dropping one-way message that cannot be encoded');
      return false;
    }
  }

  sendReply(id: number, reply: unknown): void {
    if (this.closed) return;
    if (!isMessage(reply)) {
      this.sendError(id, new RingkvError('INTERNAL', 'request handler returned something that is not a message'));
      return;
    }
    let packed: Buffer;
    try {
      packed = encodeEnvelope(replyEnvelope(id, reply), this.maxFrameBytes);
    } catch (e) {
      this.sendError(id, e);
      return;
    }
    this.enqueueReply(packed);
  }

  sendError(id: number, error: unknown): void {
    if (this.closed) return;
    const err = error instanceof RingkvError ? error : new RingkvError('INTERNAL', error instanceof Error ? error.message : String(error));
    let packed: Buffer;
    try {
      packed = encodeEnvelope(errorEnvelope(id, err.code, err.message.slice(0, 4096)), this.maxFrameBytes);
    } catch {
      // only with an absurdly small maxFrameBytes; the requester still deserves an answer
      packed = encodeEnvelope(errorEnvelope(id, err.code, ''));
    }
    this.enqueueReply(packed);
  }

  /**
   * Replies go out even past maxOutboundBytes (the requester is waiting for them) unless the peer is
   * not reading at all: at twice the limit it is cut off rather than allowed to grow our memory.
   */
  private enqueueReply(packed: Buffer): void {
    if (this.outboundBytes > 2 * this.maxOutboundBytes) {
      this.logger.warn({ peer: this.peerId, outboundBytes: this.outboundBytes }, 'peer does not read its replies; closing connection');
      this.destroy('closed: peer does not read its replies');
      return;
    }
    this.enqueue(packed);
  }

  /** stop sending requests here; close once those in flight are answered */
  retire(): void {
    if (this.closed || this.retiring) return;
    this.retiring = true;
    this.closeIfRetiredAndIdle();
  }

  /** closes now: pending requests reject (see markClosed); queued frames are flushed first */
  close(reason: string): void {
    if (this.closed) return;
    this.flush();
    this.markClosed(reason);
    this.socket.end();
    // A peer that never reads would keep the socket open forever; do not wait long for it.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** closes now, dropping anything not yet written */
  destroy(reason: string): void {
    if (this.closed) return;
    this.markClosed(reason);
    this.socket.destroy();
  }

  private closeIfRetiredAndIdle(): void {
    if (this.retiring && this.pending.size === 0) this.close('retired (another connection to the same peer is preferred)');
  }

  private enqueue(packed: Buffer): void {
    if (this.held) {
      this.held.push(packed);
      this.heldBytes += packed.length;
      this.counters.messagesSent++;
      return;
    }
    this.enqueueNow(packed);
  }

  /** into this turn's batch frame, past any hold (the handshake's own envelopes) */
  private enqueueNow(packed: Buffer, counted = false): void {
    // a batch frame must stay within maxFrameBytes: send what is queued first when this would not fit
    if (this.outQueue.length > 0 && this.outQueueBytes + packed.length + BATCH_OVERHEAD_BYTES - 4 > this.maxFrameBytes) this.flush();
    this.outQueue.push(packed);
    this.outQueueBytes += packed.length;
    if (!counted) this.counters.messagesSent++;
    if (this.outQueueBytes >= FLUSH_NOW_BYTES) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** one frame, one socket write, for everything queued since the last flush */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const queue = this.outQueue;
    if (queue.length === 0) return;
    const bytes = this.outQueueBytes;
    this.outQueue = [];
    this.outQueueBytes = 0;
    if (this.socket.destroyed || this.socket.writableEnded) return;
    const frame = batchFrame(queue, bytes);
    this.flushSeq++;
    this.counters.framesSent++;
    this.counters.socketWrites++;
    this.counters.bytesSent += frame.length;
    this.socket.write(frame);
  };

  private readonly onRequestTimeout = (id: number): void => {
    const request = this.pending.get(id);
    if (!request) return; // answered already
    this.pending.delete(id);
    this.counters.requestsTimedOut++;
    request.reject(
      new RingkvError('TIMEOUT', `request ${request.type} to ${this.describePeer()} timed out after ${request.timeoutMs} ms`, { peer: this.peerId }),
    );
    this.closeIfRetiredAndIdle();
  };

  private onHandshakeTimeout(timeoutMs: number): void {
    this.handshakeTimer = undefined;
    if (this.handshakeDone || this.closed) return;
    const what = this.dialedBySelf && this.socket.connecting ? 'connect' : 'handshake';
    this.logger.debug({ peer: this.peerId, remote: this.remoteAddress }, `${what} timed out`);
    this.peerRejected = true;
    this.destroy(`${what} timed out after ${timeoutMs} ms`);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.counters.bytesReceived += chunk.length;
    let values: unknown[];
    try {
      values = this.decoder.push(chunk);
    } catch (e) {
      this.protocolError(e);
      return;
    }
    this.counters.framesReceived += values.length;
    for (const value of values) {
      if (this.closed) return;
      try {
        const envelopes = envelopesOf(value);
        this.counters.messagesReceived += envelopes.length;
        for (const envelope of envelopes) {
          if (this.closed) return;
          this.dispatch(parseEnvelope(envelope));
        }
      } catch (e) {
        this.protocolError(e);
        return;
      }
    }
  }

  private protocolError(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.counters.protocolErrors++;
    this.logger.warn({ peer: this.peerId, remote: this.remoteAddress, err: message }, 'closing internode connection after a protocol error');
    // before the handshake the other end is not (known to be) our peer; after it, it may have applied requests
    this.peerRejected = !this.handshakeDone;
    this.destroy(`closed after a protocol error: ${message}`);
  }

  private dispatch(envelope: Envelope): void {
    if (!this.handshakeDone) {
      this.handshake(envelope);
      return;
    }
    switch (envelope.kind) {
      case KIND_HELLO:
        throw new RingkvError('MALFORMED_FRAME', 'second hello on one connection');
      case KIND_AUTH:
        throw new RingkvError('MALFORMED_FRAME', 'auth after the handshake');
      case KIND_REQ:
        this.events.onRequest(this, envelope.id, envelope.message);
        return;
      case KIND_MSG:
        this.events.onOneWay(this, envelope.message);
        return;
      case KIND_RES:
      case KIND_ERR: {
        const request = this.pending.get(envelope.id);
        if (!request) return; // answered after its timeout: nobody waits for it any more
        this.pending.delete(envelope.id);
        // the deadlines of answered requests linger until they pass: drop them when they pile up
        if (this.deadlines.size > 2 * this.pending.size + 1024) this.deadlines.compact((id) => this.pending.has(id));
        if (envelope.kind === KIND_ERR) request.reject(errorFromWire(envelope.code, envelope.text));
        else if (envelope.message.type === 'error') request.reject(errorFromWire(envelope.message.code, envelope.message.message));
        else request.resolve(envelope.message);
        this.closeIfRetiredAndIdle();
        return;
      }
    }
  }

  /**
   * The dialler expects the acceptor's hello with its proof; the acceptor expects the dialler's hello,
   * answers with its own and a proof, then expects AUTH. Anything else, or a proof that does not
   * check out, ends the connection before a single message is handled.
   */
  private handshake(envelope: Envelope): void {
    if (this.awaitingAuth) {
      if (envelope.kind !== KIND_AUTH) throw new RingkvError('MALFORMED_FRAME', 'the frame after the hellos is not an auth');
      const ids = this.awaitingAuth;
      if (!proofMatches(this.secret, 'dialler', ids, envelope.proof)) return this.refuse(ids.dialler, 'it did not prove the cluster secret');
      this.awaitingAuth = undefined;
      this.established(ids.dialler);
      return;
    }
    if (envelope.kind !== KIND_HELLO) throw new RingkvError('MALFORMED_FRAME', 'first frame is not a hello');
    const { nodeId, protocolVersion, nonce, proof } = envelope;
    if (protocolVersion !== PROTOCOL_VERSION) {
      throw new RingkvError('MALFORMED_FRAME', `peer ${nodeId} speaks protocol ${protocolVersion}, we speak ${PROTOCOL_VERSION}`);
    }
    if (nonce === undefined) throw new RingkvError('MALFORMED_FRAME', 'hello without a nonce');
    if (this.dialedBySelf) {
      if (nodeId !== this.peerId) throw new RingkvError('MALFORMED_FRAME', `dialled ${this.peerId} at ${this.remoteAddress} but ${nodeId} answered`);
      const ids = { dialler: this.selfId, acceptor: nodeId, nonceD: this.nonce, nonceA: nonce };
      if (!proofMatches(this.secret, 'acceptor', ids, proof)) return this.refuse(nodeId, 'it did not prove the cluster secret');
      // our proof first, then what waited for the handshake, in order, in the same frame
      this.enqueueNow(encodeEnvelope(authEnvelope(proofOf(this.secret, 'dialler', ids)), this.maxFrameBytes));
      const held = this.held ?? [];
      this.held = undefined;
      this.heldBytes = 0;
      for (const packed of held) this.enqueueNow(packed, true);
      this.established(nodeId);
      return;
    }
    const ids = { dialler: nodeId, acceptor: this.selfId, nonceD: nonce, nonceA: this.nonce };
    this.enqueueNow(encodeEnvelope(helloEnvelope(this.selfId, this.nonce, proofOf(this.secret, 'acceptor', ids)), this.maxFrameBytes));
    this.awaitingAuth = ids;
  }

  private established(peer: NodeId): void {
    this.peerId = peer;
    this.handshakeDone = true;
    if (this.handshakeTimer) {
      clearTimeout(this.handshakeTimer);
      this.handshakeTimer = undefined;
    }
    if (!this.events.onHello(this)) this.close('refused by this node');
  }

  /** fail closed: the other end never became our peer, and nothing it sent was handled */
  private refuse(claimed: NodeId, why: string): void {
    this.counters.authRefused++;
    this.logger.warn({ remote: this.remoteAddress, claimedId: claimed, dialedBySelf: this.dialedBySelf }, `refusing an internode connection: ${why}`);
    this.peerRejected = true;
    this.destroy(`refused: ${claimed} at ${this.remoteAddress} did not prove the cluster secret`);
  }

  private markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    const failed = [...this.pending.values()];
    this.pending.clear();
    this.deadlines.clear();
    for (const request of failed) {
      // A request already handed to the socket may have been applied by the peer: its outcome is
      // unknown, and a caller must not treat it as "not delivered" (and, say, mint it again elsewhere).
      if (request.queuedAt < this.flushSeq && this.socketConnected && this.handshakeDone && !this.peerRejected) {
        request.reject(
          new RingkvError('CONNECTION_LOST', `connection to ${this.describePeer()} ${reason} with request ${request.type} in flight: the peer may have applied it`, {
            peer: this.peerId,
          }),
        );
      } else request.reject(this.unreachable(`connection ${reason} before request ${request.type} was sent`));
    }
    this.events.onClose(this);
  }
}
