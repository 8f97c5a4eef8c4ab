/**
 * The only doors from src/cluster to the outside world. The real runtime (src/server.ts) and the
 * simulator (src/sim) both implement these, which is what lets one seed replay any distributed bug.
 */
import type { NodeId } from '../core/member.js';

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /**
   * milliseconds since the Unix epoch (virtual in the simulator): wall time, which a node's clock can
   * get wrong or step — for timestamps that outlive the process (HLC, hint and delete times), never
   * for durations or deadlines
   */
  nowMs(): number;
  /** milliseconds on a clock that only moves forward at the rate of real time: for deadlines and durations */
  monotonicMs(): number;
  /** runs fn once after delayMs; the handle cancels it */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

export interface Random {
  /** uniform in [0, 1) */
  next(): number;
  /** uniform integer in [0, maxExclusive) */
  int(maxExclusive: number): number;
}

/** Internode messages are plain msgpack-able objects with a string `type`. */
export interface Message {
  type: string;
  [field: string]: unknown;
}

export type RequestHandler = (from: NodeId, msg: Message) => Promise<Message>;

export interface Transport {
  /** this node's id */
  readonly self: NodeId;
  /**
   * Sends msg to a peer and resolves with its reply. Rejects with a RingkvError:
   * - PEER_UNREACHABLE: the request was certainly not delivered (no connection, refused, closed
   *   before it was sent) — safe to try another peer;
   * - CONNECTION_LOST: the connection failed after the request was sent — the peer may have applied
   *   it (outcome unknown);
   * - TIMEOUT: no reply within timeoutMs (outcome unknown);
   * - the code of a reply of type 'error' ({type:'error', code, message}) the peer sent.
   */
  request(to: NodeId, msg: Message, timeoutMs: number): Promise<Message>;
  /** fire and forget; may be lost */
  send(to: NodeId, msg: Message): void;
  /** installs the handler for requests and one-way messages from peers (one-way: the reply is dropped) */
  onRequest(handler: RequestHandler): void;
  close(): Promise<void>;
}

/**
 * A tiny durable record a node keeps beside its data: its identity (incarnation, version-vector
 * actor, HLC high-water mark). It lives in the data directory, so a replaced or wiped disk loses it —
 * exactly when the node must take a new identity. `write` resolves once the record is durable
 * (written, fsynced, renamed into place).
 */
export interface NodeStateStore {
  read(): Promise<Uint8Array | undefined>;
  write(bytes: Uint8Array): Promise<void>;
}

/** pino-compatible structured logger; the simulator passes a silent or recording one. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
