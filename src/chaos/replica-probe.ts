/**
 * Reads one replica's stored object directly, over the internode protocol (a `read` message to that
 * node alone), so convergence is checked on what every replica holds, not on what a quorum read
 * merges. Objects are compared by a canonical digest: version vector and siblings in a fixed order,
 * each sibling with its dot, timestamp and value — so two replicas holding one dot with different
 * values (a reused dot) count as divergent.
 */
import { createHash } from 'node:crypto';
import { partitionOf } from '../core/hash.js';
import type { VersionedObject } from '../core/version/versioned-object.js';
import { decodeObject } from '../cluster/object-codec.js';
import type { Message } from '../cluster/runtime.js';
import { httpRequest } from '../client/http-request.js';
import { traceJson } from '../sim/stable-json.js';
import { TcpTransport } from '../net/tcp-transport.js';

export interface ProbeNode {
  id: string;
  address: string;
  internalPort: number;
}

/** a replica's answer: the digest of its object, null when it holds none, or why it could not be read */
export type ReplicaState = { digest: string | null } | { error: string };

export function canonicalDigest(obj: VersionedObject): string {
  const dotKey = (d: { node: string; counter: number }): string => `${d.node}:${d.counter}`;
  const vv = [...obj.vv].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const siblings = [...obj.siblings].sort((a, b) => (dotKey(a.dot) < dotKey(b.dot) ? -1 : dotKey(a.dot) > dotKey(b.dot) ? 1 : 0));
  return createHash('sha256').update(traceJson({ vv, siblings })).digest('hex').slice(0, 16);
}

/** the partition count and every partition's preference list, from one node's /cluster/ring */
async function readPreferenceLists(ringFromHttpUrl: string, timeoutMs: number): Promise<{ partitions: number; preference: string[][] }> {
  const res = await httpRequest(ringFromHttpUrl, { method: 'GET', path: '/cluster/ring', timeoutMs });
  if (res.status !== 200) throw new Error(`GET /cluster/ring answered ${res.status}`);
  const ring = JSON.parse(res.body.toString('utf8')) as { Q: number; partitions: Array<{ partition: number; preferenceList: string[] }> };
  const preference: string[][] = [];
  for (const p of ring.partitions) preference[p.partition] = p.preferenceList;
  return { partitions: ring.Q, preference };
}

export class ReplicaProbe {
  private constructor(
    private readonly transport: TcpTransport,
    private readonly addresses: Map<string, { host: string; port: number }>,
    private partitions: number,
    private preference: string[][],
  ) {}

  /** reads the ring from one node's /cluster/ring */
  static async open(nodes: ProbeNode[], ringFromHttpUrl: string, timeoutMs: number, clusterSecret: Uint8Array): Promise<ReplicaProbe> {
    const { partitions, preference } = await readPreferenceLists(ringFromHttpUrl, timeoutMs);
    const addresses = new Map<string, { host: string; port: number }>();
    const transport = new TcpTransport({ self: 'chaos-probe', clusterSecret, listenHost: '127.0.0.1', listenPort: 0, resolvePeer: (id) => addresses.get(id), reconnectBackoff: { initialMs: 20, maxMs: 200 } });
    const probe = new ReplicaProbe(transport, addresses, partitions, preference);
    probe.learn(nodes);
    return probe;
  }

  private learn(nodes: ProbeNode[]): void {
    for (const n of nodes) this.addresses.set(n.id, { host: n.address, port: n.internalPort });
  }

  /** after a membership change: the new nodes' addresses, and the preference lists read again */
  async refresh(nodes: ProbeNode[], ringFromHttpUrl: string, timeoutMs: number): Promise<void> {
    this.learn(nodes);
    const { partitions, preference } = await readPreferenceLists(ringFromHttpUrl, timeoutMs);
    this.partitions = partitions;
    this.preference = preference;
  }

  replicasOf(key: string): { partition: number; replicas: string[] } {
    const partition = partitionOf(Buffer.from(key, 'utf8'), this.partitions);
    return { partition, replicas: this.preference[partition] ?? [] };
  }

  /** every replica's state for the key */
  async states(key: string, timeoutMs: number): Promise<Map<string, ReplicaState>> {
    const { partition, replicas } = this.replicasOf(key);
    const keyBytes = Buffer.from(key, 'utf8');
    const out = new Map<string, ReplicaState>();
    await Promise.all(
      replicas.map(async (id) => {
        try {
          const reply: Message = await this.transport.request(id, { type: 'read', partition, key: keyBytes }, timeoutMs);
          const bytes = reply.object;
          out.set(id, { digest: bytes instanceof Uint8Array ? canonicalDigest(decodeObject(bytes, id)) : null });
        } catch (e) {
          out.set(id, { error: (e as Error).message });
        }
      }),
    );
    return out;
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
