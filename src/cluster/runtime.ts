/**
 * The only doors from src/cluster to the outside world. The real runtime (src/server.ts) and the
 * simulator (src/sim) both implement these, which is what lets one seed replay any distributed bug.
 */
import type { NodeId } from '../core/member.js';

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** milliseconds since the Unix epoch (virtual in the simulator) */
  nowMs(): number;
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
   * Sends msg to a peer and resolves with its reply. Rejects with RingkvError TIMEOUT after
   * timeoutMs, or PEER_UNREACHABLE when the peer cannot be reached; a reply of type 'error'
   * ({type:'error', code, message}) rejects with that RingkvError.
   */
  request(to: NodeId, msg: Message, timeoutMs: number): Promise<Message>;
  /** fire and forget; may be lost */
  send(to: NodeId, msg: Message): void;
  /** installs the handler for requests and one-way messages from peers (one-way: the reply is dropped) */
  onRequest(handler: RequestHandler): void;
  close(): Promise<void>;
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
