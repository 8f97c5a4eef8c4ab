import type { NodeId } from '../core/member.js';
import type { Message, RequestHandler, Transport } from '../cluster/runtime.js';
import type { Engine, EngineEntry, EngineStats } from '../storage/engine.js';

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
