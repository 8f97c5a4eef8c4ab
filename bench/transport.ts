/**
 * Internode transport benchmark: two TcpTransports in this process on 127.0.0.1, node A sending
 * replicate-shaped requests (a key and a ~150-byte encoded object) to node B, which answers each with
 * an ack — the messages a replicated write costs. Reports round trips per second and, more robust on
 * a shared machine, the CPU µs per round trip (both ends, every thread), plus socket writes and
 * frames per round trip.
 *
 *   npm run bench:transport -- [--seconds 5] [--in-flight 64] [--cpu-prof]
 *
 * Prints a table, then one JSON object as the last line.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Message } from '../src/cluster/runtime.js';
import { PROTOCOL_VERSION } from '../src/net/envelope.js';
import { TcpTransport } from '../src/net/tcp-transport.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    'in-flight': { type: 'string', default: '64' },
  },
});
const SECONDS = Number(args.seconds);
const IN_FLIGHT = Number(args['in-flight']);

const ACK: Message = { type: 'ack' };

async function main(): Promise<void> {
  const ports = new Map<string, number>();
  const resolvePeer = (id: string): { host: string; port: number } | undefined => {
    const port = ports.get(id);
    return port === undefined ? undefined : { host: '127.0.0.1', port };
  };
  const clusterSecret = randomBytes(32);
  const a = new TcpTransport({ self: 'a', clusterSecret, listenHost: '127.0.0.1', listenPort: 0, resolvePeer });
  const b = new TcpTransport({ self: 'b', clusterSecret, listenHost: '127.0.0.1', listenPort: 0, resolvePeer });
  await a.listen();
  await b.listen();
  ports.set('a', a.port);
  ports.set('b', b.port);
  b.onRequest(async () => ACK);
  a.onRequest(async () => ACK);

  const key = Buffer.from('bench-key-000000');
  const object = Buffer.alloc(150, 0x5a);
  const send = (): Promise<Message> => a.request('b', { type: 'replicate', partition: 17, key, object }, 10_000);
  // connect and let the JIT see the path
  for (let i = 0; i < 2000; i++) await send();

  let done = 0;
  let stop = false;
  const statsBefore = { ...a.stats() };
  const statsBeforeB = { ...b.stats() };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const timer = setTimeout(() => (stop = true), SECONDS * 1000);
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (!stop) {
        await send();
        done++;
      }
    }),
  );
  clearTimeout(timer);
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const sa = a.stats();
  const sb = b.stats();
  await Promise.all([a.close(), b.close()]);

  const perTrip = (x: number): number => Number((x / done).toFixed(3));
  const result = {
    bench: 'transport',
    protocolVersion: PROTOCOL_VERSION,
    inFlight: IN_FLIGHT,
    seconds: Number(elapsedS.toFixed(2)),
    loadAverage: loadavg()[0],
    roundTrips: done,
    roundTripsPerSec: Math.round(done / elapsedS),
    cpuUsPerRoundTrip: perTrip(cpu.user + cpu.system),
    socketWritesPerRoundTrip: perTrip(sa.socketWrites - statsBefore.socketWrites + sb.socketWrites - statsBeforeB.socketWrites),
    framesPerRoundTrip: perTrip(sa.framesSent - statsBefore.framesSent + sb.framesSent - statsBeforeB.framesSent),
  };
  console.log(`internode transport, protocol ${PROTOCOL_VERSION}: replicate-shaped requests A -> B, ${IN_FLIGHT} in flight, ${result.seconds} s, load average ${result.loadAverage.toFixed(2)}`);
  console.log(`round trips/s            ${result.roundTripsPerSec}`);
  console.log(`CPU µs per round trip    ${result.cpuUsPerRoundTrip}   (both ends, all threads)`);
  console.log(`socket writes per trip   ${result.socketWritesPerRoundTrip}`);
  console.log(`frames per trip          ${result.framesPerRoundTrip}`);
  console.log(JSON.stringify(result));
}

await main();
