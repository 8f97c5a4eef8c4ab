/**
 * What travels inside a frame: since protocol 3, an array of envelopes (every message queued for the
 * peer in one event-loop turn). Envelopes are small msgpack arrays, positional for compactness and
 * speed (every replica read and write pays for this encoding):
 *
 *   [0, nodeId, protocolVersion, nonce, proof?]
 *                                  HELLO  first frame each way: who is speaking, which protocol, a
 *                                         fresh challenge, and (the acceptor's) proof of the secret
 *   [1, id, message]               REQ    a request; the answer comes back on the same connection
 *   [2, id, message]               RES    the handler's reply to request `id`
 *   [3, id, code, text]            ERR    the handler threw: RingkvError code (else INTERNAL) + message
 *   [4, message]                   MSG    one-way message, no answer
 *   [5, proof]                     AUTH   the dialler's proof of the cluster secret (cluster-auth.ts)
 *
 * `id` is a non-negative safe integer chosen by the requester, unique among its requests in flight on
 * that connection. `message` is a plain object with a string `type` (what the handler dispatches on);
 * the transport does not look further into it.
 */
import { ERROR_CODES, RingkvError, type ErrorCode } from '../core/errors.js';
import type { NodeId } from '../core/member.js';
import type { Message } from '../cluster/runtime.js';
import { NONCE_BYTES, PROOF_BYTES } from './cluster-auth.js';

/**
 * 2: objects in replicate, read_ok and coordinate_write_ok travel encoded (bytes), not as msgpack maps
 * 3: a frame carries an array of envelopes (a batch), not one envelope
 * 4: hellos carry a nonce (and the acceptor's proof), the dialler answers with AUTH (cluster-auth.ts)
 */
export const PROTOCOL_VERSION = 4;

export const KIND_HELLO = 0;
export const KIND_REQ = 1;
export const KIND_RES = 2;
export const KIND_ERR = 3;
export const KIND_MSG = 4;
export const KIND_AUTH = 5;

export type Envelope =
  | { kind: typeof KIND_HELLO; nodeId: NodeId; protocolVersion: number; nonce?: Uint8Array; proof?: Uint8Array }
  | { kind: typeof KIND_AUTH; proof: Uint8Array }
  | { kind: typeof KIND_REQ | typeof KIND_RES; id: number; message: Message }
  | { kind: typeof KIND_ERR; id: number; code: string; text: string }
  | { kind: typeof KIND_MSG; message: Message };

export const helloEnvelope = (nodeId: NodeId, nonce: Uint8Array, proof?: Uint8Array): unknown[] =>
  proof ? [KIND_HELLO, nodeId, PROTOCOL_VERSION, nonce, proof] : [KIND_HELLO, nodeId, PROTOCOL_VERSION, nonce];
export const authEnvelope = (proof: Uint8Array): unknown[] => [KIND_AUTH, proof];
export const requestEnvelope = (id: number, message: Message): unknown[] => [KIND_REQ, id, message];
export const replyEnvelope = (id: number, message: Message): unknown[] => [KIND_RES, id, message];
export const errorEnvelope = (id: number, code: string, text: string): unknown[] => [KIND_ERR, id, code, text];
export const oneWayEnvelope = (message: Message): unknown[] => [KIND_MSG, message];

function malformed(why: string): RingkvError {
  return new RingkvError('MALFORMED_FRAME', `malformed internode envelope: ${why}`);
}

export function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { type?: unknown }).type === 'string';
}

function requestId(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw malformed('request id is not a non-negative integer');
  return value;
}

function message(value: unknown): Message {
  if (!isMessage(value)) throw malformed('message is not an object with a string type');
  return value;
}

/** Checks the shape of a decoded frame; throws MALFORMED_FRAME when it is not an envelope. */
export function parseEnvelope(value: unknown): Envelope {
  if (!Array.isArray(value) || value.length < 2) throw malformed('not an array of at least 2 elements');
  switch (value[0]) {
    case KIND_HELLO: {
      // older protocols sent [0, nodeId, version]: parse that far, so the version check can name both
      if (value.length < 3 || value.length > 5) throw malformed('hello has the wrong length');
      const [, nodeId, protocolVersion, nonce, proof] = value;
      if (typeof nodeId !== 'string' || nodeId.length === 0 || nodeId.length > 256) throw malformed('hello node id is not a string of 1..256 chars');
      if (typeof protocolVersion !== 'number') throw malformed('hello protocol version is not a number');
      if (nonce !== undefined && !(nonce instanceof Uint8Array && nonce.length === NONCE_BYTES)) throw malformed(`hello nonce is not ${NONCE_BYTES} bytes`);
      if (proof !== undefined && !(proof instanceof Uint8Array && proof.length === PROOF_BYTES)) throw malformed(`hello proof is not ${PROOF_BYTES} bytes`);
      return { kind: KIND_HELLO, nodeId, protocolVersion, ...(nonce !== undefined ? { nonce } : {}), ...(proof !== undefined ? { proof } : {}) };
    }
    case KIND_AUTH:
      if (value.length !== 2 || !(value[1] instanceof Uint8Array) || value[1].length !== PROOF_BYTES) throw malformed(`auth is not [5, ${PROOF_BYTES} bytes]`);
      return { kind: KIND_AUTH, proof: value[1] };
    case KIND_REQ:
    case KIND_RES:
      if (value.length !== 3) throw malformed('request/reply has the wrong length');
      return { kind: value[0], id: requestId(value[1]), message: message(value[2]) };
    case KIND_ERR:
      if (value.length !== 4 || typeof value[2] !== 'string' || typeof value[3] !== 'string') throw malformed('error reply has the wrong shape');
      return { kind: KIND_ERR, id: requestId(value[1]), code: value[2], text: value[3] };
    case KIND_MSG:
      if (value.length !== 2) throw malformed('one-way message has the wrong length');
      return { kind: KIND_MSG, message: message(value[1]) };
    default:
      throw malformed(`unknown envelope kind ${JSON.stringify(value[0])}`);
  }
}

/** The error a remote code and text stand for; an unknown code becomes INTERNAL (never trust a peer's enum). */
export function errorFromWire(code: unknown, text: unknown): RingkvError {
  const known = typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
  const message = typeof text === 'string' ? text : 'remote error';
  return known ? new RingkvError(code as ErrorCode, message) : new RingkvError('INTERNAL', `${String(code)}: ${message}`);
}
