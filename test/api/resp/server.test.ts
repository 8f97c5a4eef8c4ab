import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RingkvError } from '../../../src/core/errors.js';
import type { RespServer } from '../../../src/api/resp/server.js';
import type { FakeKv } from './fake-kv.js';
import { DecodingClient, RawClient, cmd, startServer, type Decoded } from './resp-test-kit.js';

let server: RespServer;
let kv: FakeKv;
let port: number;
const clients: RawClient[] = [];

before(async () => {
  ({ server, kv, port } = await startServer());
});

after(async () => {
  for (const c of clients) c.close();
  await server.close();
});

async function client(p = port): Promise<RawClient> {
  const c = await RawClient.open(p);
  clients.push(c);
  return c;
}

async function dclient(p = port): Promise<DecodingClient> {
  const c = await DecodingClient.open(p);
  clients.push(c.raw);
  return c;
}

/** sends one command, returns exactly the expected number of bytes of reply */
async function ask(c: RawClient, data: string | Uint8Array, expected: string): Promise<void> {
  assert.equal(await c.roundTrip(data, expected), expected);
}

test('PING, ECHO and inline commands', async () => {
  const c = await client();
  await ask(c, cmd('PING'), '+PONG\r\n');
  await ask(c, cmd('ping', 'hi'), '$2\r\nhi\r\n');
  await ask(c, 'PING\r\n', '+PONG\r\n');
  await ask(c, 'echo "a b"\n', '$3\r\na b\r\n');
  await ask(c, cmd('ECHO', Buffer.from([0, 255])), '$2\r\n\x00\xff\r\n');
});

test('unknown commands and wrong arity use Redis wording', async () => {
  const c = await client();
  await ask(c, cmd('FLUSHALL', 'ASYNC', 'x'), "-ERR unknown command 'FLUSHALL', with args beginning with: 'ASYNC' 'x' \r\n");
  await ask(c, cmd('nope'), "-ERR unknown command 'nope', with args beginning with: \r\n");
  await ask(c, cmd('GET'), "-ERR wrong number of arguments for 'get' command\r\n");
  await ask(c, cmd('GET', 'a', 'b'), "-ERR wrong number of arguments for 'get' command\r\n");
  await ask(c, cmd('MSET', 'a', 'b', 'c'), "-ERR wrong number of arguments for 'mset' command\r\n");
  await ask(c, cmd('PING', 'a', 'b'), "-ERR wrong number of arguments for 'ping' command\r\n");
});

test('SET, GET, DEL, EXISTS, MSET, MGET, GETDEL', async () => {
  const c = await client();
  await ask(c, cmd('SET', 'k1', 'v1'), '+OK\r\n');
  await ask(c, cmd('GET', 'k1'), '$2\r\nv1\r\n');
  await ask(c, cmd('GET', 'missing'), '$-1\r\n');
  await ask(c, cmd('MSET', 'k2', 'v2', 'k3', 'v3', 'k2', 'v2b'), '+OK\r\n');
  await ask(c, cmd('MGET', 'k1', 'k2', 'nope', 'k3'), '*4\r\n$2\r\nv1\r\n$3\r\nv2b\r\n$-1\r\n$2\r\nv3\r\n');
  await ask(c, cmd('EXISTS', 'k1', 'k1', 'nope'), ':2\r\n');
  await ask(c, cmd('DEL', 'k1', 'k2', 'k2', 'nope'), ':2\r\n');
  await ask(c, cmd('EXISTS', 'k1', 'k2', 'k3'), ':1\r\n');
  await ask(c, cmd('GETDEL', 'k3'), '$2\r\nv3\r\n');
  await ask(c, cmd('GETDEL', 'k3'), '$-1\r\n');
  await ask(c, cmd('GET', 'k3'), '$-1\r\n');
});

test('keys and values are binary-safe', async () => {
  const c = await client();
  const key = Buffer.from([0, 1, 13, 10, 255]);
  const value = Buffer.from([255, 0, 13, 10, 36]);
  await ask(c, cmd('SET', key, value), '+OK\r\n');
  const reply = await c.roundTrip(cmd('GET', key), 'x'.repeat(4 + 5 + 2));
  assert.deepEqual(Buffer.from(reply, 'latin1'), Buffer.concat([Buffer.from('$5\r\n'), value, Buffer.from('\r\n')]));
});

test('SET NX / XX / GET decided on the read; expiry options refused', async () => {
  const c = await client();
  await ask(c, cmd('SET', 'nx', 'a', 'NX'), '+OK\r\n');
  await ask(c, cmd('SET', 'nx', 'b', 'NX'), '$-1\r\n');
  await ask(c, cmd('GET', 'nx'), '$1\r\na\r\n');
  await ask(c, cmd('SET', 'xx', 'a', 'XX'), '$-1\r\n');
  await ask(c, cmd('EXISTS', 'xx'), ':0\r\n');
  await ask(c, cmd('SET', 'nx', 'c', 'xx', 'get'), '$1\r\na\r\n');
  await ask(c, cmd('GET', 'nx'), '$1\r\nc\r\n');
  await ask(c, cmd('SET', 'fresh', 'v', 'GET'), '$-1\r\n');
  await ask(c, cmd('SET', 'a', 'b', 'NX', 'XX'), '-ERR syntax error\r\n');
  await ask(c, cmd('SET', 'a', 'b', 'BOGUS'), '-ERR syntax error\r\n');
  await ask(c, cmd('SET', 'a', 'b', 'EX'), '-ERR syntax error\r\n');
  await ask(c, cmd('SET', 'a', 'b', 'EX', 'x'), '-ERR value is not an integer or out of range\r\n');
  const expiry = await c.roundTrip(cmd('SET', 'a', 'b', 'PX', '100'), '-ERR ringkv does not support key expiry');
  assert.match(expiry, /^-ERR ringkv does not support key expiry.*\r\n$/);
  await ask(c, cmd('EXISTS', 'a'), ':0\r\n');
});

test('a plain SET is one overwrite (no read first), so repeated SETs do not pile up siblings', async () => {
  const c = await client();
  const before = kv.calls.length;
  for (let i = 0; i < 5; i++) await ask(c, cmd('SET', 'repeat', `v${i}`), '+OK\r\n');
  assert.equal(kv.siblingCount('repeat'), 1);
  const calls = kv.calls.slice(before).filter((x) => x.key === 'repeat');
  assert.deepEqual(calls.map((x) => x.op), ['put', 'put', 'put', 'put', 'put'], 'one write per SET, no reads');
});

test('SET with NX / XX / GET reads first and writes with the context of that read', async () => {
  const c = await client();
  await ask(c, cmd('SET', 'cond', 'a'), '+OK\r\n');
  const before = kv.calls.length;
  await ask(c, cmd('SET', 'cond', 'b', 'XX'), '+OK\r\n');
  const calls = kv.calls.slice(before).filter((x) => x.key === 'cond');
  assert.deepEqual(calls.map((x) => x.op), ['get', 'put']);
  assert.ok(typeof calls[1].context === 'string' && calls[1].context.length > 0);
});

test('GET on siblings picks the last writer by HLC; SET collapses them', async () => {
  const c = await client();
  kv.writer = 'wa';
  await kv.put(Buffer.from('sib'), Buffer.from('older'));
  kv.writer = 'wb';
  await kv.put(Buffer.from('sib'), Buffer.from('newer'));
  kv.writer = 'fake';
  assert.equal(kv.siblingCount('sib'), 2);
  await ask(c, cmd('GET', 'sib'), '$5\r\nnewer\r\n');
  await ask(c, cmd('SET', 'sib', 'one'), '+OK\r\n');
  assert.equal(kv.siblingCount('sib'), 1);
  await ask(c, cmd('GET', 'sib'), '$3\r\none\r\n');
});

test('INCR family on PN-counters; GET returns the decimal; INCR on a non-integer is refused', async () => {
  const c = await client();
  await ask(c, cmd('INCR', 'cnt'), ':1\r\n');
  await ask(c, cmd('INCRBY', 'cnt', '41'), ':42\r\n');
  await ask(c, cmd('DECR', 'cnt'), ':41\r\n');
  await ask(c, cmd('DECRBY', 'cnt', '-9'), ':50\r\n');
  await ask(c, cmd('GET', 'cnt'), '$2\r\n50\r\n');
  await ask(c, cmd('INCRBY', 'cnt', '1.5'), '-ERR value is not an integer or out of range\r\n');
  await ask(c, cmd('INCRBY', 'cnt', '9223372036854775808'), '-ERR value is not an integer or out of range\r\n');
  await ask(c, cmd('DECRBY', 'cnt', '-9223372036854775808'), '-ERR decrement would overflow\r\n');
  await ask(c, cmd('SET', 'str', '10'), '+OK\r\n');
  await ask(c, cmd('INCR', 'str'), ':11\r\n');
  await ask(c, cmd('SET', 'str', 'ten'), '+OK\r\n');
  await ask(c, cmd('INCR', 'str'), '-ERR value is not an integer or out of range\r\n');
  await ask(c, cmd('GET', 'str'), '$3\r\nten\r\n');
  await ask(c, cmd('SET', 'cnt', 'replaced'), '+OK\r\n');
  await ask(c, cmd('GET', 'cnt'), '$8\r\nreplaced\r\n');
});

test('RingkvErrors keep their RESP prefix', async () => {
  const c = await client();
  kv.failNext = new RingkvError('QUORUM_NOT_MET', 'only 1 of 2 replicas answered');
  await ask(c, cmd('GET', 'k'), '-QUORUM only 1 of 2 replicas answered\r\n');
  kv.failNext = new RingkvError('TIMEOUT', 'no answer within 5000 ms');
  await ask(c, cmd('INCR', 'k'), '-TIMEOUT no answer within 5000 ms\r\n');
  kv.failNext = new RingkvError('QUORUM_NOT_MET', 'only 1 of 2 replicas answered');
  await ask(c, cmd('MSET', 'a', '1', 'b', '2'), '-QUORUM only 1 of 2 replicas answered\r\n');
  const big = await c.roundTrip(cmd('SET', 'k'.repeat(1025), 'v'), '-ERR key is 1025 bytes');
  assert.match(big, /^-ERR key is 1025 bytes, over the limit of 1024 bytes \(maxKeyBytes\)\r\n$/);
  await ask(c, cmd('PING'), '+PONG\r\n');
});

test('a value just over maxValueBytes gets an error reply and the connection stays', async () => {
  const c = await client();
  const value = Buffer.alloc(1024 * 1024 + 10, 120);
  const reply = await c.roundTrip(cmd('SET', 'big', value), '-ERR value is 1048586 bytes');
  assert.match(reply, /over the limit of 1048576 bytes \(maxValueBytes\)\r\n$/);
  await ask(c, cmd('PING'), '+PONG\r\n');
});

test('pipelined commands answer in order and a pipeline reads its own writes', async () => {
  const c = await client();
  kv.delayTurns = 2;
  try {
    const batch = Buffer.concat([
      cmd('SET', 'p', '1'),
      cmd('GET', 'p'),
      cmd('PING'),
      cmd('SET', 'p', '2'),
      cmd('GET', 'p'),
      cmd('INCR', 'pc'),
      cmd('INCR', 'pc'),
      cmd('GET', 'pc'),
      cmd('DEL', 'p'),
      cmd('GET', 'p'),
      cmd('ECHO', 'end'),
    ]);
    const expected = '+OK\r\n$1\r\n1\r\n+PONG\r\n+OK\r\n$1\r\n2\r\n:1\r\n:2\r\n$1\r\n2\r\n:1\r\n$-1\r\n$3\r\nend\r\n';
    await ask(c, batch, expected);
  } finally {
    kv.delayTurns = 0;
  }
});

test('many pipelined commands with a tiny reply window all arrive in order', async () => {
  const { server: s, port: p, kv: k } = await startServer({ maxPendingRepliesPerConnection: 4 });
  try {
    k.delayTurns = 1;
    const c = await client(p);
    const n = 500;
    const batch = Buffer.concat(Array.from({ length: n }, (_, i) => cmd('INCRBY', `c${i % 7}`, '1')));
    let expected = '';
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const v = (counts.get(i % 7) ?? 0) + 1;
      counts.set(i % 7, v);
      expected += `:${v}\r\n`;
    }
    await ask(c, batch, expected);
  } finally {
    await s.close();
  }
});

test('a client pipelining large values is read only as fast as its commands complete', async () => {
  const { server: s, port: p, kv: k } = await startServer({ maxPendingBytesPerConnection: 50_000 });
  try {
    k.delayTurns = 2;
    const c = await client(p);
    const n = 200;
    const value = Buffer.alloc(10_000, 0x61);
    const batch = Buffer.concat(Array.from({ length: n }, (_, i) => cmd('SET', `big${i}`, value)));
    await ask(c, batch, '+OK\r\n'.repeat(n));
    assert.ok(k.maxInFlight < 60, `${k.maxInFlight} kv calls in flight at once`);
    assert.equal(k.size, n);
  } finally {
    await s.close();
  }
});

test('a huge declared length gets a protocol error and a close; other connections carry on', async () => {
  const bystander = await client();
  const bad = await client();
  await ask(bystander, cmd('SET', 'calm', 'yes'), '+OK\r\n');
  bad.send(`${cmd('PING').toString()}*2\r\n$3\r\nSET\r\n$999999999\r\n`);
  await bad.waitClosed();
  assert.equal(bad.text, '+PONG\r\n-ERR Protocol error: invalid bulk length\r\n');
  await ask(bystander, cmd('GET', 'calm'), '$3\r\nyes\r\n');
});

test('garbage bytes get a protocol error and a close', async () => {
  const bad = await client();
  bad.send(Buffer.from([0x2a, 0x31, 0x0d, 0x0a, 0x2b, 0x00, 0xff, 0x0d, 0x0a]));
  await bad.waitClosed();
  assert.equal(bad.text, "-ERR Protocol error: expected '$', got '+'\r\n");
  const inline = await client();
  inline.send(Buffer.alloc(70 * 1024, 0x61));
  await inline.waitClosed();
  assert.equal(inline.text, '-ERR Protocol error: too big inline request\r\n');
  assert.ok(server.statistics.protocolErrors >= 2);
});

test('QUIT answers OK, closes, and ignores what was pipelined after it', async () => {
  const c = await client();
  c.send(Buffer.concat([cmd('SET', 'q', '1'), cmd('QUIT'), cmd('SET', 'q', '2')]));
  await c.waitClosed();
  assert.equal(c.text, '+OK\r\n+OK\r\n');
  const d = await client();
  await ask(d, cmd('GET', 'q'), '$1\r\n1\r\n');
});

test('SELECT, CLIENT, CONFIG GET, DBSIZE', async () => {
  const c = await client();
  await ask(c, cmd('SELECT', '0'), '+OK\r\n');
  await ask(c, cmd('SELECT', '1'), '-ERR DB index is out of range\r\n');
  await ask(c, cmd('SELECT', 'x'), '-ERR value is not an integer or out of range\r\n');
  await ask(c, cmd('CLIENT', 'GETNAME'), '$-1\r\n');
  await ask(c, cmd('CLIENT', 'SETNAME', 'worker-1'), '+OK\r\n');
  await ask(c, cmd('CLIENT', 'GETNAME'), '$8\r\nworker-1\r\n');
  await ask(c, cmd('CLIENT', 'SETNAME', 'has space'), '-ERR Client names cannot contain spaces, newlines or special characters.\r\n');
  await ask(c, cmd('CLIENT', 'SETINFO', 'LIB-NAME', 'mylib'), '+OK\r\n');
  await ask(c, cmd('CLIENT', 'NOPE'), "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n");
  const id = await c.roundTrip(cmd('CLIENT', 'ID'), ':1\r\n');
  assert.match(id, /^:\d+\r\n$/);
  const list = await c.read((t) => t.includes('lib-name=mylib'), 100).catch(() => '');
  assert.equal(list.includes('lib-name=mylib'), false, 'CLIENT LIST not asked yet');
  await ask(c, cmd('CONFIG', 'GET', 'save'), '*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
  await ask(c, cmd('CONFIG', 'GET', 'APPEND*'), '*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n');
  await ask(c, cmd('CONFIG', 'GET', 'nothing-like-this'), '*0\r\n');
  const set = await c.roundTrip(cmd('CONFIG', 'SET', 'save', ''), '-ERR CONFIG SET is not supported');
  assert.match(set, /^-ERR CONFIG SET is not supported/);
  const size = kv.size;
  await ask(c, cmd('DBSIZE'), `:${size}\r\n`);
});

test('INFO has the server, clients, keyspace and cluster sections', async () => {
  const c = await dclient();
  const info = ((await c.one('INFO')) as Buffer).toString();
  for (const needle of ['# Server', 'redis_version:', '# Clients', 'connected_clients:', '# Keyspace', '# Cluster', 'ringkv_node_id:n1', 'member1:id=n2,ip=127.0.0.1,port=9002,status=suspect', 'loading:0']) {
    assert.ok(info.includes(needle), `INFO lacks ${needle}`);
  }
  assert.match(info, /^# Server\r\n/);
  const only = ((await c.one('INFO', 'cluster')) as Buffer).toString();
  assert.match(only, /^# Cluster\r\n/);
  assert.equal(only.includes('# Server'), false);
});

test('COMMAND, COMMAND COUNT, COMMAND INFO, COMMAND DOCS', async () => {
  const c = await client();
  await ask(c, cmd('COMMAND', 'COUNT'), ':22\r\n');
  await ask(
    c,
    cmd('COMMAND', 'INFO', 'get', 'nosuch'),
    '*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*1\r\n+@string\r\n*0\r\n*0\r\n*0\r\n$-1\r\n',
  );
  const d = await dclient();
  const [all, docs] = await d.call(['COMMAND'], ['COMMAND', 'DOCS', 'set']);
  assert.equal((all as unknown[]).length, 22);
  const [name, fields] = docs as [Buffer, Buffer[]];
  assert.equal(name.toString(), 'set');
  assert.deepEqual(fields.filter((_, i) => i % 2 === 0).map(String), ['summary', 'since', 'group']);
  assert.equal(fields[5].toString(), 'string');
});

test('HELLO 3 switches to RESP3 replies; HELLO 2 back', async () => {
  const c = await dclient();
  const hello = (await c.one('HELLO', '3')) as { map: Array<[Buffer, Decoded]> };
  const fields = new Map(hello.map.map(([k, v]) => [k.toString(), v]));
  assert.equal(fields.get('proto'), 3);
  assert.equal(String(fields.get('server')), 'ringkv');
  const [missing, config, exists, info, ok] = await c.call(['GET', 'nothing-here'], ['CONFIG', 'GET', 'databases'], ['EXISTS', 'x'], ['INFO', 'persistence'], ['SET', 'r3', 'v']);
  assert.equal(missing, null);
  assert.deepEqual(config, { map: [[Buffer.from('databases'), Buffer.from('1')]] });
  assert.equal(exists, 0);
  assert.match((info as { verbatim: string }).verbatim, /loading:0/);
  assert.equal(ok, 'OK');
  assert.ok(c.raw.text.startsWith('%8\r\n'));
  assert.ok(c.raw.text.includes('_\r\n%1\r\n'));
  const back = (await c.one('HELLO', '2')) as Decoded[];
  assert.equal(back.length, 16);
  assert.equal(await c.one('GET', 'nothing-here'), null);
  assert.ok(c.raw.text.endsWith('$-1\r\n'));
  assert.deepEqual(await c.one('HELLO', '4'), { error: 'NOPROTO unsupported protocol version' });
});

test('without a password AUTH gives the Redis error', async () => {
  const c = await client();
  const reply = await c.roundTrip(cmd('AUTH', 'pw'), '-ERR AUTH <password> called without');
  assert.match(reply, /^-ERR AUTH <password> called without any password configured/);
});

test('with a password: NOAUTH until AUTH or HELLO AUTH', async () => {
  const { server: s, port: p } = await startServer({ password: 's3cret' });
  try {
    const c = await client(p);
    await ask(c, cmd('GET', 'x'), '-NOAUTH Authentication required.\r\n');
    await ask(c, cmd('PING'), '-NOAUTH Authentication required.\r\n');
    await ask(c, cmd('AUTH', 'wrong'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    await ask(c, cmd('AUTH', 'someone', 's3cret'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    await ask(c, cmd('AUTH', 's3cret'), '+OK\r\n');
    await ask(c, cmd('GET', 'x'), '$-1\r\n');
    const d = await client(p);
    const refused = await d.roundTrip(cmd('HELLO', '3'), '-NOAUTH HELLO must be called');
    assert.match(refused, /^-NOAUTH HELLO must be called with the client already authenticated/);
    d.close();
    const e = await DecodingClient.open(p);
    try {
      const [hello, name] = await e.call(['HELLO', '3', 'AUTH', 'default', 's3cret', 'SETNAME', 'me'], ['CLIENT', 'GETNAME']);
      assert.ok('map' in (hello as object));
      assert.deepEqual(name, Buffer.from('me'));
    } finally {
      e.close();
    }
  } finally {
    await s.close();
  }
});

test('connections past maxClients are refused with an error', async () => {
  const { server: s, port: p } = await startServer({ maxClients: 1 });
  try {
    const first = await client(p);
    await ask(first, cmd('PING'), '+PONG\r\n');
    const second = await client(p);
    await second.waitClosed();
    assert.equal(second.text, '-ERR max number of clients reached\r\n');
    await ask(first, cmd('PING'), '+PONG\r\n');
  } finally {
    await s.close();
  }
});

test('close() drops clients and frees the port', async () => {
  const { server: s, port: p } = await startServer();
  const c = await client(p);
  await ask(c, cmd('PING'), '+PONG\r\n');
  await s.close();
  await c.waitClosed();
  assert.equal(c.closed, true);
  await assert.rejects(RawClient.open(p));
});

test('concurrent plain SETs of one key on one node are combined: no siblings, fewer writes', async () => {
  const writers = await Promise.all(Array.from({ length: 20 }, () => client()));
  kv.delayTurns = 3;
  try {
    const putsBefore = kv.calls.filter((x) => x.op === 'put' && x.key === 'hot').length;
    await Promise.all(writers.map((c, i) => ask(c, cmd('SET', 'hot', `v${i}`), '+OK\r\n')));
    const puts = kv.calls.filter((x) => x.op === 'put' && x.key === 'hot').length - putsBefore;
    assert.ok(puts < writers.length, `${puts} writes for ${writers.length} SETs`);
    assert.equal(kv.siblingCount('hot'), 1);
  } finally {
    kv.delayTurns = 0;
  }
});

test('pipelined SETs of one key share cluster writes, keep their order, and a GET after them sees the last', async () => {
  const c = await client();
  kv.delayTurns = 2;
  try {
    const putsBefore = kv.calls.filter((x) => x.op === 'put' && x.key === 'piped').length;
    const batch = Buffer.concat([...Array.from({ length: 16 }, (_, i) => cmd('SET', 'piped', `v${i}`)), cmd('GET', 'piped'), cmd('SET', 'piped', 'after'), cmd('GET', 'piped')]);
    await ask(c, batch, `${'+OK\r\n'.repeat(16)}$3\r\nv15\r\n+OK\r\n$5\r\nafter\r\n`);
    const puts = kv.calls.filter((x) => x.op === 'put' && x.key === 'piped').length - putsBefore;
    assert.ok(puts < 16, `${puts} cluster writes for 17 SETs`);
  } finally {
    kv.delayTurns = 0;
  }
});
