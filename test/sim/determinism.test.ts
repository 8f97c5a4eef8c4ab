import test from 'node:test';
import assert from 'node:assert/strict';
import { clusterNodeFactory } from '../../src/sim/cluster-node-factory.js';
import { referenceNodeFactory } from '../../src/sim/reference-kv-node.js';
import { SCENARIOS } from '../../src/sim/scenarios.js';

test('the same seed replays an identical run; another seed gives another run', async () => {
  for (const name of Object.keys(SCENARIOS).filter((n) => n !== 'counters')) {
    for (const seed of [1, 77]) {
      const a = await SCENARIOS[name](seed, { createNode: referenceNodeFactory, nodeKind: 'reference' });
      const b = await SCENARIOS[name](seed, { createNode: referenceNodeFactory, nodeKind: 'reference' });
      assert.equal(a.traceDigest, b.traceDigest, `${name} seed ${seed} did not replay`);
      assert.deepEqual(a.history, b.history);
      assert.deepEqual(a.network, b.network);
      assert.equal(a.steps, b.steps);
    }
    const c = await SCENARIOS[name](2, { createNode: referenceNodeFactory, nodeKind: 'reference' });
    const d = await SCENARIOS[name](3, { createNode: referenceNodeFactory, nodeKind: 'reference' });
    assert.notEqual(c.traceDigest, d.traceDigest);
  }
});

test('a verbose replay prints the same run it hashes', async () => {
  const lines: string[] = [];
  const quiet = await SCENARIOS.main(5, { createNode: referenceNodeFactory, nodeKind: 'reference' });
  const loud = await SCENARIOS.main(5, { createNode: referenceNodeFactory, nodeKind: 'reference', traceSink: (l) => lines.push(l) });
  assert.equal(quiet.traceDigest, loud.traceDigest);
  assert.ok(lines.some((l) => /deliver n\d->n\d req#\d+ ref_write/.test(l)));
  assert.ok(lines.some((l) => /invoke op0 /.test(l)));
});

test('ClusterNode runs replay exactly from their seed', async () => {
  for (const name of ['main', 'crash-restart', 'counters']) {
    const a = await SCENARIOS[name](21, { createNode: clusterNodeFactory });
    const b = await SCENARIOS[name](21, { createNode: clusterNodeFactory });
    assert.equal(a.traceDigest, b.traceDigest, `${name} did not replay`);
    assert.deepEqual(a.history, b.history);
    const c = await SCENARIOS[name](22, { createNode: clusterNodeFactory });
    assert.notEqual(a.traceDigest, c.traceDigest);
  }
});
