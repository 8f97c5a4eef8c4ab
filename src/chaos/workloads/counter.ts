/**
 * Counters over RESP: INCRBY with small positive deltas through every node (one worker bound to each
 * node). The final value must lie in [sum of acknowledged deltas, that + sum of unknown deltas].
 */
import { classifyRespWrite, classifyThrown } from './outcome.js';
import { pick, recordOp, type TargetNode, type WorkloadEnv } from './env.js';
import { respWorkerPerNode, type RespPool } from './resp-pool.js';

export const COUNTER_KEYS = ['counter-0', 'counter-1'];

export class CounterWorkload {
  constructor(
    private readonly env: WorkloadEnv,
    private readonly thinkMs: number,
  ) {}

  keys(): string[] {
    return COUNTER_KEYS;
  }

  /** one worker bound to each of the nodes */
  workers(nodes: TargetNode[]): Array<Promise<void>> {
    return respWorkerPerNode(this.env, nodes, 'counter', this.thinkMs, (pool, node) => this.incr(pool, node));
  }

  private async incr(pool: RespPool, node: TargetNode): Promise<void> {
    const key = pick(this.env, COUNTER_KEYS);
    const delta = 1 + Math.floor(this.env.random() * 5);
    await recordOp(this.env, { workload: 'counter', f: 'incr', key, node: node.id, value: delta }, async () => {
      try {
        const reply = await pool.to(node).call(['INCRBY', key, String(delta)], this.env.clientTimeoutMs);
        const c = classifyRespWrite(reply, (r) => r.kind === 'integer');
        return reply.kind === 'integer' ? { ...c, result: reply.value.toString() } : c;
      } catch (e) {
        return classifyThrown(e);
      }
    });
  }
}
