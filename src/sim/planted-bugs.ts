import type { AaeTrees } from '../cluster/anti-entropy/aae-trees.js';
import { ClusterNode } from '../cluster/node.js';
import type { NodeId } from '../core/member.js';
import type { Message, RequestHandler, Transport } from '../cluster/runtime.js';
import type { Engine, EngineEntry, EngineStats } from '../storage/engine.js';
import type { SimNodeFactory } from './sim-node.js';

/**
 * Deliberate bugs, for proving the checkers can fail: a simulator whose checkers never fire proves
 * nothing. Tests plant one of these and assert that some seed reports a violation.
 */

/** An engine that silently drops every `every`-th put while reporting success (a lying disk). */
export class DroppingEngine implements Engine {
  private puts = 0;
  dropped = 0;

  constructor(
    private readonly inner: Engine,
    private readonly every = 5,
  ) {}

  get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(partition, key);
  }

  async put(partition: number, key: Uint8Array, value: Uint8Array): Promise<void> {
    if (++this.puts % this.every === 0) {
      this.dropped++;
      return;
    }
    await this.inner.put(partition, key, value);
  }

  delete(partition: number, key: Uint8Array): Promise<void> {
    return this.inner.delete(partition, key);
  }

  scan(fromPartition: number, toPartition: number): AsyncIterable<EngineEntry> {
    return this.inner.scan(fromPartition, toPartition);
  }

  stats(): EngineStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A transport that answers requests matching `isTarget` itself with `fakeReply`, without sending
 * them: the replica never gets the write, but the coordinator counts an acknowledgement.
 */
export class AckWithoutDeliveringTransport implements Transport {
  faked = 0;

  constructor(
    private readonly inner: Transport,
    private readonly isTarget: (to: NodeId, msg: Message) => boolean,
    private readonly fakeReply: Message,
  ) {}

  get self(): NodeId {
    return this.inner.self;
  }

  request(to: NodeId, msg: Message, timeoutMs: number): Promise<Message> {
    if (to !== this.inner.self && this.isTarget(to, msg)) {
      this.faked++;
      return Promise.resolve(structuredClone(this.fakeReply));
    }
    return this.inner.request(to, msg, timeoutMs);
  }

  send(to: NodeId, msg: Message): void {
    this.inner.send(to, msg);
  }

  onRequest(handler: RequestHandler): void {
    this.inner.onRequest(handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A transport that rewrites (or, returning undefined, silently loses) the requests and one-way
 * messages it sends: plants bugs such as "a delete forgets its context" or "read repair is never
 * sent" without touching the node.
 */
export class RewritingTransport implements Transport {
  rewritten = 0;

  constructor(
    private readonly inner: Transport,
    private readonly rewrite: (to: NodeId, msg: Message, kind: 'request' | 'one-way') => Message | undefined,
  ) {}

  get self(): NodeId {
    return this.inner.self;
  }

  request(to: NodeId, msg: Message, timeoutMs: number): Promise<Message> {
    const out = this.apply(to, msg, 'request');
    return out ? this.inner.request(to, out, timeoutMs) : new Promise<Message>(() => {});
  }

  send(to: NodeId, msg: Message): void {
    const out = this.apply(to, msg, 'one-way');
    if (out) this.inner.send(to, out);
  }

  onRequest(handler: RequestHandler): void {
    this.inner.onRequest(handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private apply(to: NodeId, msg: Message, kind: 'request' | 'one-way'): Message | undefined {
    const out = this.rewrite(to, msg, kind);
    if (out !== msg) this.rewritten++;
    return out;
  }
}

/**
 * Hint replay skipped: a replay of a hint (a `replicate` request without a ring epoch — writes and
 * read repairs carry one) is acknowledged on the spot and never sent, so the stand-in deletes the hint
 * as delivered while its target never gets the write. For the hinted-handoff family.
 */
export function isHintReplay(msg: Message): boolean {
  return msg.type === 'replicate' && msg.epoch === undefined && msg.hintFor === undefined;
}

export const skipHintReplay = (_id: NodeId, transport: Transport): Transport => new AckWithoutDeliveringTransport(transport, (_to, msg) => isHintReplay(msg), { type: 'ack' });

/**
 * A broken tree update: the node's anti-entropy trees are never told of a write (the replica's
 * store hook is cut), so they keep the state of their last rebuild and exchanges see no difference
 * where the data differs. For the aae-rebuild family.
 */
export const brokenTreeUpdates: SimNodeFactory = (deps) => {
  const node = new ClusterNode(deps);
  const trees = (node.antiEntropy as unknown as { deps: { trees: AaeTrees } }).deps.trees;
  trees.onStored = () => {};
  return node;
};

/**
 * A transfer that reports done without pulling: a new replica goes through a ring change's phases
 * and tells the claimant its transfers are done, having pulled nothing. For the membership family.
 */
export const transfersWithoutPulling: SimNodeFactory = (deps) => {
  const node = new ClusterNode(deps);
  // every exchange of a transfer "succeeds" at once, pulling nothing
  (node.transfers as unknown as { exchange: () => Promise<boolean> }).exchange = async () => true;
  return node;
};
