import { clusterNodeFactory } from './cluster-node-factory.js';
import { referenceNodeFactory } from './reference-kv-node.js';
import type { SimNodeFactory } from './sim-node.js';

/** the node implementations a simulation can run, by the name the CLI takes */
export const NODE_FACTORIES: Readonly<Record<string, SimNodeFactory>> = {
  cluster: clusterNodeFactory,
  reference: referenceNodeFactory,
};

/** the production node: what `npm run sim` tests unless told otherwise */
export const DEFAULT_NODE_KIND = 'cluster';
