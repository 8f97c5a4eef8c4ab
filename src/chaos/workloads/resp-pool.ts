/** One RESP connection per node for one worker (a worker runs one command at a time). */
import type { WorkloadName } from '../history.js';
import { RespConnection } from '../resp-client.js';
import { workerLoop, type TargetNode, type WorkloadEnv } from './env.js';

export class RespPool {
  private readonly conns = new Map<string, RespConnection>();

  to(node: TargetNode): RespConnection {
    let c = this.conns.get(node.id);
    if (!c) {
      c = new RespConnection(node.address, node.respPort);
      this.conns.set(node.id, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
  }
}

/** one worker bound to each of the nodes, with its own connection to that node */
export function respWorkerPerNode(env: WorkloadEnv, nodes: TargetNode[], workload: WorkloadName, thinkMs: number, op: (pool: RespPool, node: TargetNode) => Promise<void>): Array<Promise<void>> {
  return nodes.map(async (node) => {
    const pool = new RespPool();
    try {
      await workerLoop(env, workload, node, thinkMs, () => op(pool, node));
    } finally {
      pool.close();
    }
  });
}
