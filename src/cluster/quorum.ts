import { RingkvError, toRingkvError } from '../core/errors.js';
import type { Clock } from './runtime.js';

export interface QuorumOutcome<T> {
  /** the replies that made the quorum, in arrival order */
  replies: Array<{ from: string; reply: T }>;
}

/** a failure that says nothing of whether the replica applied the request */
function outcomeUnknown(e: RingkvError): boolean {
  return e.code === 'TIMEOUT' || e.code === 'CONNECTION_LOST';
}

/**
 * Waits until `needed` of the calls succeed. Fails as soon as too many have failed for the quorum to
 * be reachable (once the rest have answered, so the error can say how many really did), and with
 * TIMEOUT when timeoutMs passes first. Every error says how many answered of how many were needed.
 *
 * For writes: a replica that failed with TIMEOUT or CONNECTION_LOST may have applied the write, so a
 * quorum missed with any such outcome is a TIMEOUT (504); only when every failure is certain is it
 * QUORUM_NOT_MET (503). Either way the message says the write may be stored on some replicas — the
 * version was minted and stored on one before it was sent to the others.
 */
/** a set of replicas of which `needed` must answer (a write during a ring change needs W of each ring) */
export interface QuorumGroup {
  members: readonly string[];
  needed: number;
}

export function awaitQuorum<T>(
  clock: Clock,
  calls: Array<{ from: string; promise: Promise<T> }>,
  needed: number,
  timeoutMs: number,
  what: 'read' | 'write',
  /** when given, every group must reach its own quorum too (joint quorum during a ring change) */
  groups: readonly QuorumGroup[] = [],
): Promise<QuorumOutcome<T>> {
  return new Promise((resolve, reject) => {
    const replies: Array<{ from: string; reply: T }> = [];
    const failures: string[] = [];
    let unknown = 0;
    let done = false;
    const verb = what === 'read' ? 'answered' : 'acknowledged';
    const maybeStored = what === 'write' ? '; the write may have been stored on some replicas (any 5xx on a write means it may have been)' : '';
    const finish = (err?: RingkvError): void => {
      if (done) return;
      done = true;
      timer.cancel();
      if (err) reject(err);
      else resolve({ replies: replies.slice() });
    };
    let impossible = false;
    const notMet = (): RingkvError => {
      const detail = `${replies.length} of ${needed} required replicas ${verb} (${failures.length} of ${calls.length} failed: ${failures.join('; ')})${maybeStored}`;
      if (what === 'write' && unknown > 0) return new RingkvError('TIMEOUT', `write quorum not met, outcome unknown on ${unknown}: ${detail}`, { answered: replies.length, needed });
      return new RingkvError('QUORUM_NOT_MET', `${what} quorum not met: ${detail}`, { answered: replies.length, needed });
    };
    const answered = new Set<string>();
    const failed = new Set<string>();
    const groupsMet = (): boolean => groups.every((g) => g.members.filter((m) => answered.has(m)).length >= g.needed);
    // a member that was not asked at all (believed down) can never answer either
    const asked = new Set(calls.map((c) => c.from));
    const groupsPossible = (): boolean => groups.every((g) => g.members.filter((m) => asked.has(m) && !failed.has(m)).length >= g.needed);
    const timer = clock.setTimer(timeoutMs, () =>
      finish(
        impossible
          ? notMet()
          : new RingkvError('TIMEOUT', `${what} timed out after ${timeoutMs} ms: ${replies.length} of ${needed} required replicas ${verb}${maybeStored}`, {
              answered: replies.length,
              needed,
            }),
      ),
    );
    const settle = (): void => {
      if (replies.length >= needed && groupsMet()) finish();
      else if (calls.length - failures.length < needed || !groupsPossible()) impossible = true;
      if (impossible && replies.length + failures.length === calls.length) finish(notMet());
    };
    // every call is watched, even when the quorum is impossible from the start: the requests are
    // already on their way, and a rejection nobody handles would end the process
    for (const call of calls) {
      call.promise.then(
        (reply) => {
          replies.push({ from: call.from, reply });
          answered.add(call.from);
          settle();
        },
        (e: unknown) => {
          const err = toRingkvError(e);
          if (outcomeUnknown(err)) unknown++;
          failures.push(`${call.from}: ${err.message}`);
          failed.add(call.from);
          settle();
        },
      );
    }
    if (calls.length < needed || !groupsPossible()) {
      finish(
        new RingkvError(
          'QUORUM_NOT_MET',
          calls.length < needed
            ? `${what} quorum not met: only ${calls.length} of ${needed} required replicas can be asked (the others are down and no stand-in is left)${maybeStored}`
            : `${what} quorum not met: too few primaries can be asked for a strict quorum (${groups.map((g) => `${g.members.filter((m) => asked.has(m)).length} of ${g.needed} needed`).join(', ')})${maybeStored}`,
          { answered: 0, needed },
        ),
      );
      return;
    }
  });
}
