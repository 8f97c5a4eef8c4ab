import test from 'node:test';
import assert from 'node:assert/strict';
import { partitionOf } from '../../src/core/hash.js';
import { EMPTY_CONTEXT } from '../../src/core/version/context-token.js';
import { applyWrite, contextOfRead } from '../../src/core/version/versioned-object.js';
import { decodeObject, encodeObject } from '../../src/cluster/object-codec.js';
import { loopbackCluster } from './loopback-cluster.js';

// Found by the simulator (membership, seed 167): a write minted where the key's latest delete had not
// arrived carries an older delete time; a replica that had the later one merged them right (the
// latest delete wins) but stored the incoming bytes as they were, since siblings and clock matched —
// so it kept the older time on disk while its anti-entropy tree took the merged one, and no exchange
// ever saw the difference
test('a merge that keeps the incoming versions still stores the later delete time it knew', async () => {
  const h = loopbackCluster(3, { partitions: 16 });
  const key = Buffer.from('k');
  const p = partitionOf(key, 16);
  const limits = { siblingLimitCount: 100 };
  const written = applyWrite(undefined, EMPTY_CONTEXT, 'x#1', { kind: 'bytes', bytes: Buffer.from('v') }, { wallMs: 100, logical: 0 }, limits);
  // the delete this replica holds, at 5000; the write minted elsewhere saw its dot but an older delete time
  const deleted = applyWrite(written, contextOfRead(written), 'x#1', { kind: 'tombstone' }, { wallMs: 5000, logical: 0 }, limits);
  const rewritten = applyWrite({ ...deleted, deletedAtMs: 1000 }, contextOfRead(deleted), 'y#1', { kind: 'bytes', bytes: Buffer.from('w') }, { wallMs: 6000, logical: 0 }, limits);
  await h.engines[0].put(p, key, encodeObject(deleted));
  const handler = h.net.handlers.get('n1')!;
  await handler('n2', { type: 'replicate', partition: p, key, object: encodeObject(rewritten), epoch: 0 });
  assert.equal(decodeObject((await h.engines[0].get(p, key))!, 't').deletedAtMs, 5000);
});
