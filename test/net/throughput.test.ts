/**
 * A measurement, not an assertion: request/response round trips per second between two transports in
 * one process, 64 requests in flight, 100-byte payloads. Printed as a test diagnostic.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './transport-harness.js';

const IN_FLIGHT = 64;
const PAYLOAD_BYTES = 100;
const MEASURE_MS = 1500;

test('measure: round trips per second, 64 in flight, 100-byte payloads', async (t) => {
  const cluster = new TestCluster();
  t.after(() => cluster.closeAll());
  const a = await cluster.start('a');
  await cluster.start('b');
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  await a.request('b', { type: 'echo', payload }, 5000); // connect and warm up

  let completed = 0;
  let measuring = true;
  const deadline = Date.now() + MEASURE_MS;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (measuring) {
      await a.request('b', { type: 'echo', n: completed, payload }, 10_000);
      completed++;
      if (Date.now() >= deadline) measuring = false;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  const perSecond = Math.round(completed / elapsedS);
  t.diagnostic(`tcp transport: ${completed} round trips in ${elapsedS.toFixed(2)} s = ${perSecond} req/s (${IN_FLIGHT} in flight, ${PAYLOAD_BYTES}-byte payload)`);
  t.diagnostic(JSON.stringify({ bench: 'tcp-transport-roundtrip', inFlight: IN_FLIGHT, payloadBytes: PAYLOAD_BYTES, requests: completed, seconds: elapsedS, requestsPerSecond: perSecond }));
  assert.ok(completed > 0);
});
