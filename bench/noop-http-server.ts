/**
 * The HTTP benchmark's yardstick: fastify with ringkv's HTTP settings (no logger, any content type
 * read as a buffer, /kv/* routes) whose handlers do nothing — PUT answers 204, GET a 100-byte value.
 * What the same client reaches against it is the ceiling of the HTTP layer on this machine.
 *
 *   node dist/bench/noop-http-server.js [port]     prints "listening <port>" once ready
 */
import Fastify from 'fastify';

const VALUE = Buffer.alloc(100, 'v');

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 + 64 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.put('/kv/*', async (_request, reply) => reply.code(204).send());
app.get('/kv/*', async (_request, reply) => reply.code(200).header('content-type', 'application/octet-stream').send(VALUE));

const address = await app.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1' });
process.stdout.write(`listening ${new URL(address).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
// stop with the benchmark if it dies
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
