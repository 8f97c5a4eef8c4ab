/**
 * The second source before a suspected member is marked down (SWIM): a direct ping and, at the same
 * time, k helpers asked to ping it (gossip_ping_req), all within one timeout. Any answer — the
 * member's own row, through whichever path — proves it alive and is handed back (it carries a fresh
 * heartbeat); a member that is merely slow to gossip, or cut off from the suspecting node alone,
 * answers through a helper. The round is `dead`:
 * - at once when a path reports the connection refused (PEER_UNREACHABLE): nothing listens at the
 *   member's address any more — its process is gone. A paused process never refuses (the kernel keeps
 *   its sockets open and queues what arrives), so this cannot convict a node stopped by GC or SIGSTOP;
 * - otherwise when every path has failed, which takes the whole timeout: a silent member (a dead host,
 *   a partition) — or a paused one, which is why the timeout is longer than the pauses tolerated.
 */
import type { NodeId } from '../../core/member.js';
import type { MemberEntry } from '../../core/membership/member-entry.js';
import { RingkvError } from '../../core/errors.js';
import type { Transport } from '../runtime.js';
import type { GossipCodec } from './gossip-messages.js';

export type ProbeResult = { alive: true; entry: MemberEntry } | { alive: false; refused: boolean; paths: number };

export interface ProbeCounters {
  rounds: number;
  direct: number;
  indirect: number;
  alive: number;
  dead: number;
  refused: number;
}

export class Prober {
  readonly counters: ProbeCounters = { rounds: 0, direct: 0, indirect: 0, alive: 0, dead: 0, refused: 0 };

  constructor(
    private readonly transport: Transport,
    private readonly codec: GossipCodec,
  ) {}

  /** One probe round of `target` through `helpers`; settles within timeoutMs (plus the transport's timer slack). */
  probe(target: NodeId, helpers: readonly NodeId[], timeoutMs: number): Promise<ProbeResult> {
    this.counters.rounds++;
    const paths = 1 + helpers.length;
    // helpers get less time than the round, so their "no" can arrive before the round gives up
    const helperTimeoutMs = Math.max(1, Math.floor(timeoutMs * 0.8));
    return new Promise<ProbeResult>((resolve) => {
      let failed = 0;
      let settled = false;
      const alive = (entry: MemberEntry): void => {
        if (settled) return;
        settled = true;
        this.counters.alive++;
        resolve({ alive: true, entry });
      };
      const dead = (refused: boolean): void => {
        settled = true;
        this.counters.dead++;
        if (refused) this.counters.refused++;
        resolve({ alive: false, refused, paths });
      };
      const fail = (refused: boolean): void => {
        if (settled) return;
        if (refused) dead(true);
        else if (++failed === paths) dead(false);
      };
      this.counters.direct++;
      this.transport
        .request(target, this.codec.ping(), timeoutMs)
        .then(
          (reply) => {
            const entry = this.codec.parsePong(reply);
            if (entry.id === target) alive(entry);
            else fail(false);
          },
          (e: unknown) => fail(isRefusal(e)),
        )
        .catch(() => fail(false));
      for (const helper of helpers) {
        this.counters.indirect++;
        this.transport
          .request(helper, this.codec.pingReq({ target, timeoutMs: helperTimeoutMs }), timeoutMs)
          .then(
            (reply) => {
              const r = this.codec.parsePingReqOk(reply);
              if (r.ok && r.entry !== undefined && r.entry.id === target) alive(r.entry);
              else fail(r.refused === true);
            },
            // the helper itself could not be reached: says nothing about the target
            () => fail(false),
          )
          .catch(() => fail(false));
      }
    });
  }
}

/** a request the transport says was refused (nothing listens at the address), not merely unanswered */
export function isRefusal(e: unknown): boolean {
  return e instanceof RingkvError && e.code === 'PEER_UNREACHABLE';
}
