/**
 * Internode authentication: both ends of a connection prove they hold the cluster secret, without
 * sending it, by a challenge–response over HMAC-SHA256.
 *
 *   dialler  → acceptor   HELLO [dialler id, protocol, nonceD]
 *   acceptor → dialler    HELLO [acceptor id, protocol, nonceA, proof("acceptor", nonceD, nonceA, ids)]
 *   dialler  → acceptor   AUTH  [proof("dialler", nonceD, nonceA, ids)]
 *
 * Each proof covers both fresh nonces (no replay of an old exchange), both node ids (no relaying a
 * proof to another pair) and the prover's role (no reflecting the acceptor's proof back at it). The
 * acceptor handles nothing but AUTH before the dialler's proof checks out; the dialler sends nothing
 * but its hello before the acceptor's does.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../core/member.js';

export const NONCE_BYTES = 16;
export const PROOF_BYTES = 32;

export type AuthRole = 'dialler' | 'acceptor';

export interface HandshakeIds {
  dialler: NodeId;
  acceptor: NodeId;
  nonceD: Uint8Array;
  nonceA: Uint8Array;
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** a length-prefixed field, so no two different (role, ids, nonces) tuples hash the same bytes */
function field(mac: ReturnType<typeof createHmac>, bytes: Uint8Array | string): void {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  mac.update(len);
  mac.update(b);
}

export function proofOf(secret: Uint8Array, role: AuthRole, ids: HandshakeIds): Buffer {
  const mac = createHmac('sha256', secret);
  field(mac, 'ringkv-internode-auth-v1');
  field(mac, role);
  field(mac, ids.dialler);
  field(mac, ids.acceptor);
  field(mac, ids.nonceD);
  field(mac, ids.nonceA);
  return mac.digest();
}

export function proofMatches(secret: Uint8Array, role: AuthRole, ids: HandshakeIds, proof: Uint8Array | undefined): boolean {
  if (proof === undefined || proof.length !== PROOF_BYTES) return false;
  return timingSafeEqual(proofOf(secret, role, ids), proof);
}

/**
 * A cluster secret as given by an operator (flag, env or file): trailing newlines of a file are not
 * part of it. Throws a message naming the rule, never the value.
 */
export function clusterSecretBytes(text: string): Buffer {
  const trimmed = text.replace(/[\r\n]+$/, '');
  if (trimmed.length < 16) throw new Error(`the cluster secret must be at least 16 characters (it has ${trimmed.length})`);
  return Buffer.from(trimmed, 'utf8');
}
