import { ClusterNode } from '../cluster/node.js';
import type { SimNode, SimNodeDeps } from './sim-node.js';

/** the production node (src/cluster/node.ts), driven by the simulator */
export const clusterNodeFactory = (deps: SimNodeDeps): SimNode => new ClusterNode(deps);
