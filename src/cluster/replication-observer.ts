/**
 * Optional instrumentation of the replicated read and write paths: request latencies for metrics and
 * the node status, and the four latencies of the PBS staleness model (write to replica, ack back, read
 * to replica, response back). The cluster layer only says *when* things happen; all timing is the
 * observer's, so the real runtime can use a high-resolution clock (src/ops/replication-instruments.ts)
 * while the simulator passes none and stays deterministic.
 */
import type { NodeId } from '../core/member.js';
import type { Message } from './runtime.js';

/** what a client asked of this node */
export type CoordinatedOperation = 'get' | 'put' | 'delete' | 'increment';

/** which replica request a leg belongs to */
export type ReplicaRequestKind = 'write' | 'read';

export interface ReplicationObserver {
  /**
   * A client request starts here (not a forwarded one: each request is counted once, where the client
   * sent it). quorum = the r or w it waits for; localReplica = whether this node is a replica of the key.
   * The returned function is called exactly once, with the error when the request failed.
   */
  requestStarted(operation: CoordinatedOperation, quorum: number, localReplica: boolean): (error?: unknown) => void;
  /**
   * A replicate or read request leaves for a peer replica. The returned function is called with the
   * peer's reply when one arrives (never for a failure), which may carry the peer's service time.
   */
  replicaRequestSent(kind: ReplicaRequestKind, to: NodeId): (reply: Message) => void;
  /**
   * Replica side: starts timing the service of one replicate or read; calling the result gives the
   * elapsed time in microseconds, sent back to the coordinator as the reply's SERVICE_TIME_FIELD.
   */
  serviceTimer(): () => number;
}

/**
 * The reply field with the replica's service time in microseconds, measured on the replica's own clock
 * (a duration, so it needs no clock synchronisation). Optional: a peer that does not send it is fine.
 */
export const SERVICE_TIME_FIELD = 'svcUs';

/** the service time a reply carries, if it carries a sane one */
export function serviceTimeUs(reply: Message): number | undefined {
  const v = reply[SERVICE_TIME_FIELD];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 3.6e9 ? v : undefined;
}
