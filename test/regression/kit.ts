import assert from 'node:assert/strict';
import type { GetResult, SiblingView } from '../../src/cluster/kv-service.js';
import { isRingkvError } from '../../src/core/errors.js';
import type { NodeId } from '../../src/core/member.js';
import { NODE_KINDS } from '../../src/sim/node-factories.js';
import type { StorageOptions } from '../../src/sim/sim-disk.js';
import { SimCluster } from '../../src/sim/sim-cluster.js';
import type { SimNode } from '../../src/sim/sim-node.js';

/**
 * Targeted regression runs of issue 8's cases: the production node (ClusterNode) in a SimCluster, on
 * a quiet network (1 ms each way, no loss, no random resets, a down node refuses at once), driven
 * one client call at a time through the public KvService API.
 */
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface Outcome<T> {
  value?: T;
  error?: unknown;
}

export class RegressionCluster {
  private constructor(readonly cluster: SimCluster) {}

  static async start(options: { nodeCount: number; storage?: StorageOptions; seed?: number }): Promise<RegressionCluster> {
    const cluster = await SimCluster.create({
      seed: options.seed ?? 1,
      nodeCount: options.nodeCount,
      createNode: NODE_KINDS.cluster.create,
      config: { n: 3, r: 2, w: 2, requestTimeoutMs: 1000 },
      faults: { latencyBaseMs: 1, latencyTailMeanMs: 0, dropProbability: 0, duplicateProbability: 0, refuseProbability: 1, resetProbability: 0, resetOnCrashProbability: 1 },
      storage: options.storage,
    });
    return new RegressionCluster(cluster);
  }

  /** one client call through node `via`, driven until it settles */
  async call<T>(via: NodeId, fn: (node: SimNode) => Promise<T>): Promise<Outcome<T>> {
    let out: Outcome<T> | undefined;
    this.cluster.call(via, fn).then(
      (value) => (out = { value }),
      (error: unknown) => (out = { error }),
    );
    await this.cluster.sim.runUntil(() => out !== undefined, 60_000);
    assert.ok(out, `a call through ${via} never settled`);
    return out;
  }

  /** a call that must succeed */
  async ok<T>(via: NodeId, fn: (node: SimNode) => Promise<T>, what: string): Promise<T> {
    const out = await this.call(via, fn);
    if (out.error !== undefined) assert.fail(`${what} through ${via} failed: ${describeError(out.error)}`);
    return out.value as T;
  }

  async read(via: NodeId, key: string, r = 3): Promise<GetResult> {
    return this.ok(via, (n) => n.get(enc(key), { r }), `GET ${key} r=${r}`);
  }

  /** the key's replicas (its primaries on the ring) */
  replicasOf(key: string): NodeId[] {
    return NODE_KINDS.cluster.placement(enc(key), this.cluster.members, this.cluster.config).replicas;
  }

  /** lets replication, read repair and late messages land */
  settle(ms = 500): Promise<void> {
    return this.cluster.sim.runFor(ms);
  }
}

export function describeError(e: unknown): string {
  return isRingkvError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
}

export function bytesValues(res: GetResult): string[] {
  return res.siblings.filter((s) => s.kind === 'bytes').map((s) => dec(s.value));
}

/** the counter's value, 0 when nothing live is left */
export function counterValue(res: GetResult): bigint {
  const c = res.siblings.find((s) => s.kind === 'counter');
  return c ? BigInt(dec(c.value)) : 0n;
}

/** RESP's last-writer-wins order: HLC wall time, then logical counter, then writer id */
export function compareLww(a: SiblingView, b: SiblingView): number {
  return a.hlcWallMs - b.hlcWallMs || a.hlcLogical - b.hlcLogical || (a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0);
}

/**
 * What a write whose outcome the coordinator cannot know must say (issue 8, exactly-once writes):
 * 504 TIMEOUT, a message that says it may have been applied, and never "0 of W acknowledged".
 */
export function assertHonestUnknownOutcome(error: unknown, what: string): void {
  assert.ok(isRingkvError(error), `${what}: not a RingkvError: ${describeError(error)}`);
  assert.doesNotMatch(error.message, /\b0 of \d+ required replicas acknowledged/, `${what}: claims no replica acknowledged, yet one applied it: ${describeError(error)}`);
  assert.equal(error.code, 'TIMEOUT', `${what}: an unknown outcome must be a 504 TIMEOUT, got ${describeError(error)}`);
  assert.match(error.message, /may have been applied/, `${what}: the message must say the write may have been applied: ${describeError(error)}`);
}
