/** A node's identity and where to reach it. The gossiped member table is in src/core/membership/. */
export type NodeId = string;

/** up, suspect, down: what the failure detector says; leaving, left: the node's own way out of the cluster */
export type MemberStatus = 'up' | 'suspect' | 'down' | 'leaving' | 'left';

export interface Member {
  id: NodeId;
  /** host:port of the internode TCP listener */
  address: string;
  /** host:port of the HTTP API, for redirects and the members endpoint */
  httpAddress?: string;
  /** rack / data-centre label; replicas go to distinct zones first */
  zone?: string;
  /** relative share of partitions this node claims; default 1 */
  weight: number;
}
