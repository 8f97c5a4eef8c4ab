import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimFS } from '../../../src/storage/fs/sim-fs.js';
import { LsmEngine } from '../../../src/storage/lsm/lsm-engine.js';
import { collect, crashEngine, seededRandom, slot, smallOptions } from './helpers.js';

type Op =
  | { kind: 'put'; partition: number; key: Uint8Array; value: Uint8Array }
  | { kind: 'delete'; partition: number; key: Uint8Array }
  | { kind: 'get'; partition: number; key: Uint8Array }
  | { kind: 'scan'; from: number; to: number }
  | { kind: 'flush' }
  | { kind: 'compact' }
  | { kind: 'restart' }
  | { kind: 'crash'; seed: number };

const partitionArb = fc.integer({ min: 0, max: 3 });
// a small key space so keys are overwritten and deleted often; bytes include 0x00 and 0xff
const keyArb = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h').map((s) => Buffer.from(s)),
  fc.uint8Array({ minLength: 0, maxLength: 3, max: 255 }),
);
const valueArb = fc.uint8Array({ minLength: 0, maxLength: 300 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ kind: fc.constant('put' as const), partition: partitionArb, key: keyArb, value: valueArb }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('delete' as const), partition: partitionArb, key: keyArb }) },
  { weight: 15, arbitrary: fc.record({ kind: fc.constant('get' as const), partition: partitionArb, key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('scan' as const), from: fc.integer({ min: 0, max: 4 }), to: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), seed: fc.integer() }) },
);

function modelScan(model: Map<string, { partition: number; key: Uint8Array; value: Uint8Array }>, from: number, to: number): string[] {
  return [...model.values()]
    .filter((e) => e.partition >= from && e.partition < to)
    .sort((a, b) => a.partition - b.partition || Buffer.compare(a.key, b.key))
    .map((e) => `${slot(e.partition, e.key)}=${Buffer.from(e.value).toString('hex')}`);
}

test('LsmEngine behaves like a map through flushes, compactions, restarts and crashes (batch sync; tables built in the worker or in-line)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 200, size: 'max' }), fc.boolean(), fc.boolean(), async (ops, autoCompact, tableWorker) => {
      const fs = new SimFS();
      const options = smallOptions({ autoCompact, tombstoneGraceMs: 0, tableWorker });
      let engine = await LsmEngine.open(fs, options);
      const model = new Map<string, { partition: number; key: Uint8Array; value: Uint8Array }>();
      try {
        for (const op of ops) {
          switch (op.kind) {
            case 'put':
              await engine.put(op.partition, op.key, op.value);
              model.set(slot(op.partition, op.key), { partition: op.partition, key: Uint8Array.from(op.key), value: Uint8Array.from(op.value) });
              break;
            case 'delete':
              await engine.delete(op.partition, op.key);
              model.delete(slot(op.partition, op.key));
              break;
            case 'get': {
              const got = await engine.get(op.partition, op.key);
              const want = model.get(slot(op.partition, op.key))?.value;
              assert.deepEqual(got === undefined ? undefined : Buffer.from(got).toString('hex'), want === undefined ? undefined : Buffer.from(want).toString('hex'));
              break;
            }
            case 'scan':
              assert.deepEqual(await collect(engine, op.from, op.to), modelScan(model, op.from, op.to));
              break;
            case 'flush':
              await engine.flush();
              break;
            case 'compact':
              await engine.compact();
              break;
            case 'restart':
              await engine.close();
              engine = await LsmEngine.open(fs, options);
              break;
            case 'crash':
              await crashEngine(engine, fs, seededRandom(op.seed));
              engine = await LsmEngine.open(fs, options);
              break;
          }
        }
        assert.deepEqual(await collect(engine, 0, 5), modelScan(model, 0, 5));
        for (const e of model.values()) assert.ok(await engine.get(e.partition, e.key));
        assert.equal(engine.stats().corruptTables, 0);
      } finally {
        engine.halt();
      }
    }),
    { numRuns: 100 },
  );
});
