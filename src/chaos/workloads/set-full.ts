/**
 * set-full over HTTP, two ways:
 *  - unique keys: each element is its own key, written once without a context; readers read recent
 *    keys back at r=1 (so staleness shows how long a write takes to reach every replica);
 *  - one shared key holding a set: an add reads the key, takes the union of every sibling's elements,
 *    adds its element and writes with the read's context (the merge ringkv's siblings exist for).
 * With siblings, no acknowledged element may ever be lost.
 */
import { classifyHttpReadError, classifyHttpStatus, classifyThrown } from './outcome.js';
import { compactElements, encodeElements, unionOfSiblings } from './elements.js';
import { pick, recordOp, workerLoop, type TargetNode, type WorkloadEnv } from './env.js';
import { httpGet, httpPut } from '../http-kv.js';

export const SHARED_SET_KEY = 'set-shared';
export const uniqueKey = (seq: number): string => `set-u-${seq}`;

export interface SetFullOptions {
  thinkMs: number;
  sharedThinkMs: number;
  /** the read quorum of the unique-key readers: 1 measures how long a write takes to reach every replica */
  readerR: number;
}

export class SetFullWorkload {
  private seq = 0;
  /** unique keys written so far (any outcome), for the readers */
  readonly uniqueKeys: string[] = [];

  constructor(
    private readonly env: WorkloadEnv,
    private readonly opts: SetFullOptions,
  ) {}

  /** every key this workload touched, for the convergence checks */
  keys(): string[] {
    return [SHARED_SET_KEY, ...this.uniqueKeys];
  }

  /** per node given: a unique-key writer, a reader and a shared-key adder, each bound to that node */
  workers(nodes: TargetNode[]): Array<Promise<void>> {
    const env = this.env;
    return nodes.flatMap((node) => [
      workerLoop(env, 'set-full', node, this.opts.thinkMs, () => this.addUnique(node)),
      workerLoop(env, 'set-full', node, this.opts.thinkMs, () => this.readUnique(node)),
      workerLoop(env, 'set-full', node, this.opts.sharedThinkMs, () => this.addShared(node)),
    ]);
  }

  private timeouts() {
    return { serverTimeoutMs: this.env.serverTimeoutMs, clientTimeoutMs: this.env.clientTimeoutMs };
  }

  private async addUnique(node: TargetNode): Promise<void> {
    const element = String(++this.seq);
    const key = uniqueKey(this.seq);
    this.uniqueKeys.push(key);
    await recordOp(this.env, { workload: 'set-full', f: 'add', key, node: node.id, value: element }, async () => {
      try {
        return classifyHttpStatus(await httpPut(node.httpUrl, key, element, this.timeouts()), [204]);
      } catch (e) {
        return classifyThrown(e);
      }
    });
  }

  private async readUnique(node: TargetNode): Promise<void> {
    if (this.uniqueKeys.length === 0) return;
    const key = pick(this.env, this.uniqueKeys.slice(-200));
    await recordOp(this.env, { workload: 'set-full', f: 'read', key, node: node.id }, async () => {
      try {
        const a = await httpGet(node.httpUrl, key, { ...this.timeouts(), r: this.opts.readerR });
        if (!a.siblings) return classifyHttpReadError(a.res);
        return { outcome: 'ok', result: a.siblings.map((s) => s.toString('utf8')) };
      } catch (e) {
        return classifyThrown(e);
      }
    });
  }

  private async addShared(node: TargetNode): Promise<void> {
    let context = '';
    let seen: string[] = [];
    const read = await recordOp(this.env, { workload: 'set-full', f: 'read', key: SHARED_SET_KEY, node: node.id }, async () => {
      try {
        const a = await httpGet(node.httpUrl, SHARED_SET_KEY, this.timeouts());
        if (!a.siblings) return classifyHttpReadError(a.res);
        context = a.context;
        seen = unionOfSiblings(a.siblings);
        return { outcome: 'ok', result: compactElements(seen) };
      } catch (e) {
        return classifyThrown(e);
      }
    });
    if (read.outcome !== 'ok') return;
    const element = `s${++this.seq}`;
    await recordOp(this.env, { workload: 'set-full', f: 'add', key: SHARED_SET_KEY, node: node.id, value: element }, async () => {
      try {
        return classifyHttpStatus(await httpPut(node.httpUrl, SHARED_SET_KEY, encodeElements([...seen, element]), { ...this.timeouts(), context }), [204]);
      } catch (e) {
        return classifyThrown(e);
      }
    });
  }
}
