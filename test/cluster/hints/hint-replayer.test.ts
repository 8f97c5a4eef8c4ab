import test from 'node:test';
import assert from 'node:assert/strict';
import { HintReplayer } from '../../../src/cluster/hints/hint-replayer.js';
import { HintStore } from '../../../src/cluster/hints/hint-store.js';
import { encodeObject } from '../../../src/cluster/object-codec.js';
import type { Replica } from '../../../src/cluster/replica.js';
import { RingkvError } from '../../../src/core/errors.js';
import type { Message, Transport } from '../../../src/cluster/runtime.js';
import { silentLogger } from '../../../src/cluster/runtime.js';
import { MemoryEngine } from '../../../src/storage/memory-engine.js';
import { TestClock } from '../loopback-cluster.js';

const TARGET = 'n4';

function objectBytes(value: string, counter: number): Uint8Array {
  const dot = { node: 'n2#a', counter };
  return encodeObject({ vv: [dot], siblings: [{ dot, hlc: { wallMs: 1_700_000_000_000, logical: 0 }, value: { kind: 'bytes', bytes: Buffer.from(value) } }] });
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A transport to one target whose first request is never answered (sent to a process that has
 * crashed, before the detector noticed): it fails only when the test releases it, standing for a
 * request timeout far longer than the test. Every later request is acknowledged.
 */
function stalledFirstRequest(): { transport: Transport; acked: Array<{ to: string; key: string }>; sent: () => number; release: () => void } {
  const acked: Array<{ to: string; key: string }> = [];
  let sent = 0;
  let release = (): void => {};
  const transport: Transport = {
    self: 'n1',
    async request(to: string, msg: Message): Promise<Message> {
      if (sent++ === 0) {
        return new Promise<Message>((_, reject) => {
          release = () => reject(new RingkvError('TIMEOUT', 'request timed out'));
        });
      }
      acked.push({ to, key: Buffer.from(msg.key as Uint8Array).toString() });
      return { type: 'ack' };
    },
    send: () => {},
    onRequest: () => {},
    close: async () => {},
  };
  return { transport, acked, sent: () => sent, release: () => release() };
}

// Found by the simulator (doomstone, seeds 22, 27, 28): a stand-in's sweep began replaying hints to a
// primary that had crashed but was not yet detected down; that replay waited out its request timeout,
// the primary was marked down, came back and was seen up meanwhile — and its new hint (a delete) was
// not handed back until the stalled replay failed and the next sweep came, by then older than the hint
// window and dropped
test('a target seen up again gets its hints at once, even while a replay stalled on its previous incarnation is running', async () => {
  const clock = new TestClock();
  const store = new HintStore(new MemoryEngine(), { maxAgeMs: 60_000, maxBytesPerTarget: 1 << 20 }, silentLogger);
  const net = stalledFirstRequest();
  let live = true; // crashed but not yet detected
  const replayer = new HintReplayer(
    {
      self: 'n1',
      store,
      transport: net.transport,
      replica: {} as Replica, // never asked: the hints go to the target, not to this node
      clock,
      logger: silentLogger,
      isLive: () => live,
      replicasOf: () => ['n2', 'n3', TARGET],
    },
    { hintReplayObjectsPerSec: 1000, hintSweepMs: 600_000, requestTimeoutMs: 600_000 },
  );
  try {
    await store.add(TARGET, 3, Buffer.from('k0'), objectBytes('old write', 1), clock.nowMs());
    replayer.start(); // the sweep finds TARGET believed live: its replay stalls on the first request
    await until(() => net.sent() === 1);
    live = false; // detected down; a delete is hinted for it
    await store.add(TARGET, 5, Buffer.from('doom'), objectBytes('delete', 2), clock.nowMs());
    live = true; // it restarted and is seen up
    replayer.onMemberUp(TARGET);
    await until(() => store.targetStats(TARGET).count === 0);
    assert.deepEqual(
      net.acked.map((a) => a.key),
      ['k0', 'doom'],
      'both hints were handed back to the target while the stalled request was still waiting',
    );
    assert.ok(net.acked.every((a) => a.to === TARGET));
    assert.equal(store.stats.delivered, 2);
    assert.equal(store.stats.droppedForAge, 0);
  } finally {
    replayer.stop();
    net.release();
  }
});
