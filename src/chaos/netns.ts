/**
 * The run's network: a hub namespace holding a bridge (and the harness's clients, at 10.77.0.1), and
 * one namespace per node joined to the bridge by a veth pair. Nothing is created in the namespace the
 * harness was started from, and the namespaces have no route anywhere else: traffic to a node
 * address can only ever reach the run's own nodes.
 */
import { hubNamespace, HUB_ADDRESS, nodeNamespace } from './names.js';
import { inNetns, must } from './sys.js';

/** the iptables chains the nemeses fill: partitions and packet loss (from INPUT), the NFQUEUE delay (from OUTPUT) */
export const PARTITION_CHAIN = 'RKC_PARTITION';
export const LOSS_CHAIN = 'RKC_LOSS';
export const DELAY_CHAIN = 'RKC_DELAY';
/** the node's side of its veth pair */
export const NODE_INTERFACE = 'eth0';

export async function createHub(runId: string): Promise<void> {
  const hub = hubNamespace(runId);
  await must('ip', ['netns', 'add', hub]);
  await must('ip', ['-n', hub, 'link', 'set', 'lo', 'up']);
  await must('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
  await must('ip', ['-n', hub, 'addr', 'add', `${HUB_ADDRESS}/24`, 'dev', 'br0']);
  await must('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
}

/** a namespace for the node, its veth on the bridge, its address, and the empty fault chains */
export async function addNodeNetwork(runId: string, nodeId: string, index: number, address: string): Promise<string> {
  const hub = hubNamespace(runId);
  const ns = nodeNamespace(runId, nodeId);
  const hubSide = `v${index}`;
  await must('ip', ['netns', 'add', ns]);
  await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await must('ip', ['link', 'add', 'name', hubSide, 'netns', hub, 'type', 'veth', 'peer', 'name', NODE_INTERFACE, 'netns', ns]);
  await must('ip', ['-n', hub, 'link', 'set', hubSide, 'master', 'br0']);
  await must('ip', ['-n', hub, 'link', 'set', hubSide, 'up']);
  await must('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', NODE_INTERFACE]);
  await must('ip', ['-n', ns, 'link', 'set', NODE_INTERFACE, 'up']);
  for (const [chain, from] of [[PARTITION_CHAIN, 'INPUT'], [LOSS_CHAIN, 'INPUT'], [DELAY_CHAIN, 'OUTPUT']]) {
    await inNetns(ns, 'iptables', ['-w', '-N', chain]);
    await inNetns(ns, 'iptables', ['-w', '-A', from, '-j', chain]);
  }
  return ns;
}
