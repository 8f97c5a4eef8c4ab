/** A node's identity and where to reach it. Gossip (a later issue) will own the member table. */
export type NodeId = string;

export type MemberStatus = 'up' | 'suspect' | 'down' | 'leaving';

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
