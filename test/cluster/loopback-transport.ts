import { RingkvError } from '../../src/core/errors.js';
import type { Message, RequestHandler, Transport } from '../../src/cluster/runtime.js';

/**
 * A scripted fault on the next matching request:
 * - 'reset-after-delivery': the request is delivered and handled, then the caller gets CONNECTION_LOST
 *   (the reply was lost with the connection);
 * - 'refuse': the caller gets PEER_UNREACHABLE and nothing is delivered;
 * - 'storage-full': the peer answers STORAGE_FULL without applying anything (its disk is full).
 */
export interface ScriptedFault {
  from?: string;
  to?: string;
  type?: string;
  kind: 'reset-after-delivery' | 'refuse' | 'storage-full';
  /** how many matching requests it hits @default 1 */
  times?: number;
  /** runs after a reset-after-delivery, before the caller hears of it (e.g. restart the receiver) */
  afterDelivery?: () => void;
}

/** Direct in-process delivery for cluster unit tests; a node marked down is unreachable. */
export class LoopbackNetwork {
  readonly handlers = new Map<string, RequestHandler>();
  readonly down = new Set<string>();
  readonly faults: ScriptedFault[] = [];
  /** requests delivered, by type */
  readonly delivered = new Map<string, number>();

  transport(self: string): Transport {
    return this.transportOf(this, self);
  }

  private transportOf(net: LoopbackNetwork, self: string): Transport {
    return {
      self,
      async request(to: string, msg: Message): Promise<Message> {
        const h = net.handlers.get(to);
        if (!h || net.down.has(to) || net.down.has(self)) throw new RingkvError('PEER_UNREACHABLE', `${to} is down`);
        const scripted = net.takeFault(self, to, msg.type);
        const fault = scripted?.kind;
        if (fault === 'refuse') throw new RingkvError('PEER_UNREACHABLE', `${to} refused (scripted)`);
        if (fault === 'storage-full') throw new RingkvError('STORAGE_FULL', `${to}: storage full (scripted)`);
        net.delivered.set(msg.type, (net.delivered.get(msg.type) ?? 0) + 1);
        const reply = await h(self, structuredClone(msg));
        if (fault === 'reset-after-delivery') {
          scripted?.afterDelivery?.();
          throw new RingkvError('CONNECTION_LOST', `connection to ${to} reset after delivery (scripted)`);
        }
        return reply;
      },
      send(to: string, msg: Message): void {
        const h = net.handlers.get(to);
        if (h && !net.down.has(to) && !net.down.has(self)) void h(self, structuredClone(msg)).catch(() => undefined);
      },
      onRequest(handler: RequestHandler): void {
        net.handlers.set(self, handler);
      },
      async close(): Promise<void> {},
    };
  }

  takeFault(from: string, to: string, type: string): ScriptedFault | undefined {
    const i = this.faults.findIndex((f) => (f.from === undefined || f.from === from) && (f.to === undefined || f.to === to) && (f.type === undefined || f.type === type));
    if (i < 0) return undefined;
    const f = this.faults[i];
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) this.faults.splice(i, 1);
    return f;
  }
}
