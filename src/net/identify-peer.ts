import { connect } from 'node:net';
import { RingkvError } from '../core/errors.js';
import type { NodeId } from '../core/member.js';
import { newNonce, proofMatches } from './cluster-auth.js';
import { helloEnvelope, KIND_HELLO, parseEnvelope, PROTOCOL_VERSION } from './envelope.js';
import { envelopesOf, FrameDecoder, singleEnvelopeFrame } from './frame-codec.js';

/**
 * Asks the node listening at host:port for its id: the first half of the internode handshake (our
 * hello, its hello with its proof of the cluster secret), then the connection is closed before we
 * prove anything ourselves — so the other end handles nothing from us. Used to join a cluster through
 * `--join host:port`, where only an address is known. Rejects with PEER_UNREACHABLE when nothing
 * answers with a hello in time, and when the answer does not prove the cluster secret.
 */
export function identifyPeer(host: string, port: number, selfId: NodeId, secret: Uint8Array, timeoutMs = 3000): Promise<NodeId> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const decoder = new FrameDecoder();
    const nonce = newNonce();
    let done = false;
    const finish = (err: RingkvError | undefined, id?: NodeId): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(id!);
    };
    const timer = setTimeout(() => finish(new RingkvError('PEER_UNREACHABLE', `no ringkv node answered at ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(singleEnvelopeFrame(helloEnvelope(selfId, nonce))));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(new RingkvError('PEER_UNREACHABLE', `cannot reach ${host}:${port}: ${e.code ?? e.message}`)));
    socket.on('close', () => finish(new RingkvError('PEER_UNREACHABLE', `${host}:${port} closed the connection before saying who it is`)));
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const value of decoder.push(chunk)) {
          for (const envelope of envelopesOf(value)) {
            const env = parseEnvelope(envelope);
            if (env.kind !== KIND_HELLO) continue;
            if (env.protocolVersion !== PROTOCOL_VERSION) {
              return finish(new RingkvError('PEER_UNREACHABLE', `${host}:${port} (${env.nodeId}) speaks internode protocol ${env.protocolVersion}, this node ${PROTOCOL_VERSION}`));
            }
            const ids = env.nonce && { dialler: selfId, acceptor: env.nodeId, nonceD: nonce, nonceA: env.nonce };
            if (!ids || !proofMatches(secret, 'acceptor', ids, env.proof)) {
              return finish(new RingkvError('PEER_UNREACHABLE', `${host}:${port} (${env.nodeId}) did not prove the cluster secret: is it given the same --cluster-secret?`));
            }
            return finish(undefined, env.nodeId);
          }
        }
      } catch (e) {
        finish(new RingkvError('PEER_UNREACHABLE', `${host}:${port} does not speak the ringkv internode protocol: ${(e as Error).message}`));
      }
    });
  });
}
