import { RingkvError, toRingkvError } from '../core/errors.js';
import type { Clock } from './runtime.js';

export interface QuorumOutcome<T> {
  /** the replies that made the quorum, in arrival order */
  replies: Array<{ from: string; reply: T }>;
}

/**
 * Waits until `needed` of the calls succeed. Fails with QUORUM_NOT_MET as soon as too many have
 * failed for the quorum to be reachable, and with TIMEOUT when timeoutMs passes first. Both
 * messages say how many answered of how many were needed, so an operator can tell which.
 */
export function awaitQuorum<T>(
  clock: Clock,
  calls: Array<{ from: string; promise: Promise<T> }>,
  needed: number,
  timeoutMs: number,
  what: 'read' | 'write',
): Promise<QuorumOutcome<T>> {
  return new Promise((resolve, reject) => {
    const replies: Array<{ from: string; reply: T }> = [];
    const failures: string[] = [];
    let done = false;
    const verb = what === 'read' ? 'answered' : 'acknowledged';
    const finish = (err?: RingkvError): void => {
      if (done) return;
      done = true;
      timer.cancel();
      if (err) reject(err);
      else resolve({ replies: replies.slice() });
    };
    // Once the quorum is out of reach we still let the outstanding replicas answer (each call is
    // bounded by its own timeout) so the error can say how many really answered.
    let impossible = false;
    const notMet = (): RingkvError =>
      new RingkvError(
        'QUORUM_NOT_MET',
        `${what} quorum not met: ${replies.length} of ${needed} required replicas ${verb} (${failures.length} of ${calls.length} failed: ${failures.join('; ')})`,
        { answered: replies.length, needed },
      );
    const timer = clock.setTimer(timeoutMs, () =>
      finish(
        impossible
          ? notMet()
          : new RingkvError('TIMEOUT', `${what} timed out after ${timeoutMs} ms: ${replies.length} of ${needed} required replicas ${verb}`, {
              answered: replies.length,
              needed,
            }),
      ),
    );
    if (calls.length < needed) {
      finish(new RingkvError('QUORUM_NOT_MET', `${what} quorum not met: only ${calls.length} replicas available, ${needed} required`, { answered: 0, needed }));
      return;
    }
    const settle = (): void => {
      if (replies.length >= needed) finish();
      else if (calls.length - failures.length < needed) impossible = true;
      if (impossible && replies.length + failures.length === calls.length) finish(notMet());
    };
    for (const call of calls) {
      call.promise.then(
        (reply) => {
          replies.push({ from: call.from, reply });
          settle();
        },
        (e: unknown) => {
          failures.push(`${call.from}: ${toRingkvError(e).message}`);
          settle();
        },
      );
    }
  });
}
