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
