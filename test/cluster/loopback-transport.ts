import { RingkvError } from '../../src/core/errors.js';
import type { Message, RequestHandler, Transport } from '../../src/cluster/runtime.js';

/** Direct in-process delivery for cluster unit tests; a node marked down is unreachable. */
export class LoopbackNetwork {
  readonly handlers = new Map<string, RequestHandler>();
  readonly down = new Set<string>();

  transport(self: string): Transport {
    const { handlers, down } = this;
    const net = { handlers, down };
    return {
      self,
      async request(to: string, msg: Message): Promise<Message> {
        const h = net.handlers.get(to);
        if (!h || net.down.has(to) || net.down.has(self)) throw new RingkvError('PEER_UNREACHABLE', `${to} is down`);
        return h(self, structuredClone(msg));
      },
      send(to: string, msg: Message): void {
        const h = net.handlers.get(to);
        if (h && !net.down.has(to)) void h(self, structuredClone(msg)).catch(() => undefined);
      },
      onRequest(handler: RequestHandler): void {
        net.handlers.set(self, handler);
      },
      async close(): Promise<void> {},
    };
  }
}
