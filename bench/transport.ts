/**
 * `npm run bench:transport`: internode round trips per second between two TCP transports in one
 * process (64 requests in flight, 100-byte payloads, 3 runs of 2 s after a warm-up). A measurement
 * only (it was a test that asserted nothing but `completed > 0`). Prints a table, then one JSON
 * object as the last line.
 */
import { TcpTransport } from '../src/net/tcp-transport.js';
import type { Message } from '../src/cluster/runtime.js';

const IN_FLIGHT = 64;
const PAYLOAD_BYTES = 100;
const RUN_MS = 2000;
const RUNS = 3;

async function listen(self: string, ports: Map<string, number>): Promise<TcpTransport> {
  const t = new TcpTransport({ self, listenHost: '127.0.0.1', listenPort: 0, resolvePeer: (id) => (ports.has(id) ? { host: '127.0.0.1', port: ports.get(id)! } : undefined) });
  t.onRequest(async (_from, msg: Message) => ({ ...msg, type: 'echo_ok' }));
  await t.listen();
  ports.set(self, t.port);
  return t;
}

const ports = new Map<string, number>();
const a = await listen('a', ports);
const b = await listen('b', ports);
const payload = Buffer.alloc(PAYLOAD_BYTES, 0x61);

async function measure(ms: number): Promise<{ requests: number; seconds: number }> {
  let completed = 0;
  const deadline = Date.now() + ms;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      await a.request('b', { type: 'echo', n: completed, payload }, 10_000);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { requests: completed, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

await measure(500); // connect and warm up
const rows: Array<{ run: number; requests: number; seconds: number; requestsPerSecond: number }> = [];
for (let run = 1; run <= RUNS; run++) {
  const m = await measure(RUN_MS);
  rows.push({ run, ...m, requestsPerSecond: Math.round(m.requests / m.seconds) });
}
await a.close();
await b.close();

console.log(`tcp transport round trips, ${IN_FLIGHT} in flight, ${PAYLOAD_BYTES}-byte payloads`);
console.log('| run | requests | seconds | req/s |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.run} | ${r.requests} | ${r.seconds.toFixed(2)} | ${r.requestsPerSecond.toLocaleString('en-US')} |`);
const median = [...rows].sort((x, y) => x.requestsPerSecond - y.requestsPerSecond)[Math.floor(RUNS / 2)].requestsPerSecond;
console.log(JSON.stringify({ bench: 'tcp-transport-roundtrip', inFlight: IN_FLIGHT, payloadBytes: PAYLOAD_BYTES, runs: rows, medianRequestsPerSecond: median }));
