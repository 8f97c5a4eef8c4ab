import type { ClusterConfig } from '../cluster/cluster-config.js';
import { decodeObject } from '../cluster/object-codec.js';
import { partitionOf } from '../core/hash.js';
import type { Member, NodeId } from '../core/member.js';
import { buildRing, type Ring } from '../core/ring.js';
import type { VersionedObject } from '../core/version/versioned-object.js';
import { clusterNodeFactory } from './cluster-node-factory.js';
import { describeReferenceObject, REFERENCE_PARTITION, referenceNodeFactory, referenceReplicas } from './reference-kv-node.js';
import type { SimNodeFactory } from './sim-node.js';

/** Where a key lives: the engine partition it is stored under and the nodes that must hold it. */
export interface KeyPlacement {
  partition: number;
  replicas: NodeId[];
}

/**
 * A node implementation the simulator can run, with what the convergence checker needs to look at
 * its replicas' stored objects directly.
 */
export interface NodeKind {
  create: SimNodeFactory;
  /** the key's replicas (with no sloppy quorum, its N primaries) */
  placement(key: Uint8Array, members: readonly Member[], config: ClusterConfig): KeyPlacement;
  /** a stored object as canonical text: two replicas are identical when their texts are equal */
  describeStored(bytes: Uint8Array): string;
}

const rings = new WeakMap<readonly Member[], Ring>();

/** the production node: objects are object-codec msgpack, placed on the ring's preference list */
const clusterKind: NodeKind = {
  create: clusterNodeFactory,
  placement(key, members, config) {
    let ring = rings.get(members);
    if (!ring || ring.partitions !== config.partitions) rings.set(members, (ring = buildRing(members, config.partitions)));
    const partition = partitionOf(key, ring.partitions);
    return { partition, replicas: [...ring.preferenceList(partition, config.n).primaries] };
  },
  describeStored: (bytes) => describeVersionedObject(decodeObject(bytes, 'engine')),
};

const referenceKind: NodeKind = {
  create: referenceNodeFactory,
  placement: (key, members, config) => ({
    partition: REFERENCE_PARTITION,
    replicas: referenceReplicas(key, [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), config.n),
  }),
  describeStored: describeReferenceObject,
};

/** the node implementations a simulation can run, by the name the CLI takes */
export const NODE_KINDS: Readonly<Record<string, NodeKind>> = {
  cluster: clusterKind,
  reference: referenceKind,
};

/** the node factories by CLI name */
export const NODE_FACTORIES: Readonly<Record<string, SimNodeFactory>> = Object.fromEntries(Object.entries(NODE_KINDS).map(([name, kind]) => [name, kind.create]));

/** the production node: what `npm run sim` tests unless told otherwise */
export const DEFAULT_NODE_KIND = 'cluster';

/**
 * What "identical replicas" means for ringkv objects: the same version-vector counters and the same
 * siblings (dots and values) — the whole decoded object as canonical JSON (bytes as hex, object keys
 * sorted, arrays in their stored order, which the codec keeps canonical: entries by actor, siblings
 * by dot), so every field of the object is compared (seen dots and counter floors included). An
 * `updatedMs` field, if an object carries one, is left out: bookkeeping, not knowledge. Written
 * against the decoded shape generically so that fields added to the object are compared too.
 */
export function describeVersionedObject(obj: VersionedObject): string {
  return JSON.stringify(obj, function (this: Record<string, unknown>, key: string, value: unknown) {
    if (key === 'updatedMs') return undefined;
    // a Buffer's toJSON has already run on `value`: look at the holder's own property
    const raw = key === '' ? value : this[key];
    if (raw instanceof Uint8Array) return `hex:${Buffer.from(raw).toString('hex')}`;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.keys(value).sort().map((k) => [k, (value as Record<string, unknown>)[k]]));
    }
    return value;
  });
}
