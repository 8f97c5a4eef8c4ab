import test from 'node:test';
import assert from 'node:assert/strict';
import { RingkvError } from '../../src/core/errors.js';
import { awaitQuorum } from '../../src/cluster/quorum.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

// Found by the simulator (partition-heal, seed 1): a strict write whose primaries were mostly
// believed down failed at once, and the replicate requests already sent were left unwatched — the
// first of them to time out was an unhandled rejection, which ends a Node.js process.
test('a quorum impossible from the start still watches the calls already sent (no unhandled rejection)', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const clock = new VirtualClock(0);
    let failLater!: (e: Error) => void;
    const late = new Promise<string>((_resolve, reject) => (failLater = reject));
    const calls = [
      { from: 'a', promise: Promise.resolve('ok') },
      { from: 's', promise: late },
    ];
    // pw = 2 of primaries [a, b, c], but only a was asked (b and c believed down): impossible at once
    await assert.rejects(awaitQuorum(clock, calls, 2, 1000, 'write', [{ members: ['a', 'b', 'c'], needed: 2 }]), (e: unknown) => e instanceof RingkvError && e.code === 'QUORUM_NOT_MET');
    failLater(new RingkvError('TIMEOUT', 'request replicate to s timed out'));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
