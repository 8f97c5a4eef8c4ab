/**
 * A set kept in one last-writer-wins register over RESP: an add GETs the register, adds its element
 * and SETs the result. RESP picks one sibling by timestamp, so concurrent adds overwrite each other:
 * this workload measures how many acknowledged elements last-writer-wins loses (Jepsen measured
 * 30–70 % for Riak with LWW), it does not fail the run for them.
 */
import { classifyRespWrite, classifyThrown } from './outcome.js';
import { compactElements, decodeElements, encodeElements } from './elements.js';
import { recordOp, type TargetNode, type WorkloadEnv } from './env.js';
import { respWorkerPerNode, type RespPool } from './resp-pool.js';

export const REGISTER_KEY = 'register';

export class RegisterWorkload {
  private seq = 0;

  constructor(
    private readonly env: WorkloadEnv,
    private readonly thinkMs: number,
  ) {}

  keys(): string[] {
    return [REGISTER_KEY];
  }

  /** one worker bound to each of the nodes */
  workers(nodes: TargetNode[]): Array<Promise<void>> {
    return respWorkerPerNode(this.env, nodes, 'register', this.thinkMs, (pool, node) => this.add(pool, node));
  }

  private async add(pool: RespPool, node: TargetNode): Promise<void> {
    let seen: string[] = [];
    const read = await recordOp(this.env, { workload: 'register', f: 'read', key: REGISTER_KEY, node: node.id }, async () => {
      try {
        const reply = await pool.to(node).call(['GET', REGISTER_KEY], this.env.clientTimeoutMs);
        if (reply.kind === 'bulk') {
          seen = reply.value ? decodeElements(reply.value) : [];
          return { outcome: 'ok', result: compactElements(seen) };
        }
        return { outcome: 'fail', error: reply.kind === 'error' ? reply.value.slice(0, 120) : `unexpected reply ${reply.kind}` };
      } catch (e) {
        return classifyThrown(e);
      }
    });
    if (read.outcome !== 'ok') return;
    const element = `r${++this.seq}`;
    await recordOp(this.env, { workload: 'register', f: 'add', key: REGISTER_KEY, node: node.id, value: element }, async () => {
      try {
        const reply = await pool.to(node).call(['SET', REGISTER_KEY, encodeElements([...seen, element])], this.env.clientTimeoutMs);
        return classifyRespWrite(reply, (r) => r.kind === 'simple' && r.value === 'OK');
      } catch (e) {
        return classifyThrown(e);
      }
    });
  }
}
