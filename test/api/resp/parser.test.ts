import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RespParser, RespProtocolError, splitInlineArgs } from '../../../src/api/resp/parser.js';

function encodeCommand(args: Array<string | Uint8Array>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** feeds the chunks, returns every command as arrays of latin1 strings */
function parseChunks(chunks: Uint8Array[], parser = new RespParser()): string[][] {
  const out: string[][] = [];
  for (const c of chunks) parser.feed(c, (args) => out.push(args.map((a) => a.toString('latin1'))));
  return out;
}

const STREAM = Buffer.concat([
  encodeCommand(['SET', 'key', 'value']),
  encodeCommand(['GET', 'key']),
  Buffer.from('PING\r\n'),
  encodeCommand(['SET', 'bin', Buffer.from([0, 13, 10, 255, 36, 42])]),
  Buffer.from('set "a b" \'c d\' "\\x41\\n"\n'),
  Buffer.from('\r\n'),
  encodeCommand(['ECHO', '']),
  Buffer.from('*0\r\n'),
  encodeCommand(['MSET', 'k1', 'v1', 'k2', 'v2']),
]);
const EXPECTED = [
  ['SET', 'key', 'value'],
  ['GET', 'key'],
  ['PING'],
  ['SET', 'bin', Buffer.from([0, 13, 10, 255, 36, 42]).toString('latin1')],
  ['set', 'a b', 'c d', 'A\n'],
  ['ECHO', ''],
  ['MSET', 'k1', 'v1', 'k2', 'v2'],
];

test('parses a pipelined stream in one chunk', () => {
  assert.deepEqual(parseChunks([STREAM]), EXPECTED);
});

test('parses the stream split into two chunks at every offset', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    assert.deepEqual(parseChunks([STREAM.subarray(0, i), STREAM.subarray(i)]), EXPECTED, `split at ${i}`);
  }
});

test('parses the stream split into three chunks at every pair of offsets', () => {
  for (let i = 0; i <= STREAM.length; i += 1) {
    for (let j = i; j <= STREAM.length; j += 3) {
      const got = parseChunks([STREAM.subarray(0, i), STREAM.subarray(i, j), STREAM.subarray(j)]);
      assert.deepEqual(got, EXPECTED, `split at ${i}, ${j}`);
    }
  }
});

test('parses the stream fed one byte at a time', () => {
  const chunks = [...STREAM].map((b) => Buffer.from([b]));
  assert.deepEqual(parseChunks(chunks), EXPECTED);
});

test('a split bulk string does not change after the chunk it came from is overwritten', () => {
  const parser = new RespParser();
  const got: Buffer[][] = [];
  const cmd = encodeCommand(['SET', 'k', 'abcdefgh']);
  const first = Buffer.from(cmd.subarray(0, cmd.length - 5));
  parser.feed(first, (a) => got.push(a));
  first.fill(0);
  parser.feed(Buffer.from(cmd.subarray(cmd.length - 5)), (a) => got.push(a));
  assert.equal(got[0][2].toString(), 'abcdefgh');
});

test('reports inCommand while a command is partially received', () => {
  const parser = new RespParser();
  const cmd = encodeCommand(['GET', 'key']);
  parser.feed(cmd.subarray(0, 5), () => undefined);
  assert.equal(parser.inCommand, true);
  parser.feed(cmd.subarray(5), () => undefined);
  assert.equal(parser.inCommand, false);
});

function expectProtocolError(input: string | Buffer, pattern: RegExp, limits = {}): string[][] {
  const parser = new RespParser(limits);
  const out: string[][] = [];
  assert.throws(
    () => parser.feed(typeof input === 'string' ? Buffer.from(input) : input, (a) => out.push(a.map((x) => x.toString()))),
    (e: unknown) => e instanceof RespProtocolError && pattern.test(e.message),
  );
  // poisoned: any further input fails the same way
  assert.throws(() => parser.feed(Buffer.from('PING\r\n'), () => undefined), RespProtocolError);
  return out;
}

test('protocol errors carry Redis wording and commands before them are delivered', () => {
  assert.deepEqual(expectProtocolError('PING\r\n*1\r\n+foo\r\n', /^Protocol error: expected '\$', got '\+'$/), [['PING']]);
  expectProtocolError('*abc\r\n', /invalid multibulk length/);
  expectProtocolError('*1\r\n$x\r\n', /invalid bulk length/);
  expectProtocolError('*1\r\n$-1\r\n', /invalid bulk length/);
  expectProtocolError('*1\r\n$3\r\nfooXY', /not followed by CRLF/);
  expectProtocolError('set "a\r\n', /unbalanced quotes/);
  expectProtocolError('set "a"b\r\n', /unbalanced quotes/);
  expectProtocolError('*01\r\n', /invalid multibulk length/);
});

test('declared lengths over the limits are refused before any allocation', () => {
  expectProtocolError('*1\r\n$1048577\r\n', /invalid bulk length/, { maxBulkBytes: 1048576 });
  expectProtocolError('*1\r\n$999999999999999\r\n', /invalid bulk length/);
  expectProtocolError('*1\r\n$9999999999999999999\r\n', /invalid bulk length/);
  expectProtocolError('*1048577\r\n', /invalid multibulk length/);
  expectProtocolError('*3\r\n$5\r\nhello\r\n$5\r\nworld\r\n', /command larger than/, { maxCommandBytes: 100 });
});

test('an inline line over 64 KiB is refused, even when it arrives in pieces', () => {
  const parser = new RespParser();
  const piece = Buffer.alloc(16 * 1024, 'a'.charCodeAt(0));
  assert.throws(() => {
    for (let i = 0; i < 5; i++) parser.feed(piece, () => undefined);
  }, /too big inline request/);
  expectProtocolError(Buffer.concat([Buffer.alloc(70 * 1024, 'a'.charCodeAt(0)), Buffer.from('\n')]), /too big inline request/);
});

test('splitInlineArgs follows sdssplitargs', () => {
  const s = (line: string) => splitInlineArgs(Buffer.from(line))?.map((b) => b.toString('latin1')) ?? null;
  assert.deepEqual(s('  set  a   b '), ['set', 'a', 'b']);
  assert.deepEqual(s('"\\x00\\xff\\t" \'it\\\'s\''), ['\x00\xff\t', "it's"]);
  assert.deepEqual(s('""'), ['']);
  assert.equal(s("'abc"), null);
  assert.deepEqual(s(''), []);
});

test('property: random bytes only ever raise RespProtocolError', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
      const parser = new RespParser({ maxBulkBytes: 1024, maxInlineBytes: 256 });
      try {
        for (const c of chunks) parser.feed(c, () => undefined);
      } catch (e) {
        if (!(e instanceof RespProtocolError)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: random bytes behind a valid RESP prefix only raise RespProtocolError', () => {
  const prefix = fc.constantFrom('*', '*2\r\n', '*2\r\n$', '*1\r\n$3\r\n', '$', '"', "'");
  fc.assert(
    fc.property(prefix, fc.uint8Array({ maxLength: 64 }), (p, tail) => {
      const parser = new RespParser({ maxBulkBytes: 1024, maxInlineBytes: 256 });
      try {
        parser.feed(Buffer.concat([Buffer.from(p), tail]), () => undefined);
      } catch (e) {
        if (!(e instanceof RespProtocolError)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: valid commands round-trip whatever the chunking', () => {
  const command = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }), (commands, cuts) => {
      const stream = Buffer.concat(commands.map((c) => encodeCommand(c)));
      const offsets = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let last = 0;
      for (const o of offsets) {
        chunks.push(stream.subarray(last, o));
        last = o;
      }
      chunks.push(stream.subarray(last));
      const got = parseChunks(chunks);
      assert.deepEqual(got, commands.map((c) => c.map((a) => Buffer.from(a).toString('latin1'))));
    }),
    { numRuns: 500 },
  );
});

/** one invocation of every command the front end knows, the way clients send them */
const EVERY_COMMAND: string[][] = [
  ['PING'], ['PING', 'hi'], ['ECHO', 'x'], ['HELLO', '3', 'AUTH', 'default', 'pw', 'SETNAME', 'me'], ['AUTH', 'pw'],
  ['SELECT', '0'], ['QUIT'], ['CLIENT', 'SETINFO', 'LIB-NAME', 'ioredis'], ['CLIENT', 'SETNAME', 'n'], ['CLIENT', 'GETNAME'],
  ['CLIENT', 'ID'], ['COMMAND'], ['COMMAND', 'DOCS', 'get'], ['COMMAND', 'COUNT'], ['INFO', 'server'], ['CONFIG', 'GET', 'save'],
  ['DBSIZE'], ['GET', 'key:000000000042'], ['SET', 'key', 'v'.repeat(100), 'NX', 'GET'], ['GETDEL', 'k'], ['DEL', 'a', 'b'],
  ['EXISTS', 'a'], ['MGET', 'a', 'b', 'c'], ['MSET', 'a', '1', 'b', '2'], ['INCR', 'c'], ['INCRBY', 'c', '-5'], ['DECR', 'c'],
  ['DECRBY', 'c', '9223372036854775807'],
];

test('every command, alone, split at every offset', () => {
  for (const command of EVERY_COMMAND) {
    const bytes = encodeCommand(command);
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(parseChunks([bytes.subarray(0, i), bytes.subarray(i)]), [command], `${command[0]} split at ${i}`);
    }
  }
});

test('all commands pipelined in one batch, split at every offset, in RESP and inline form', () => {
  const resp = Buffer.concat(EVERY_COMMAND.map((c) => encodeCommand(c)));
  const inline = Buffer.from(EVERY_COMMAND.map((c) => `${c.join(' ')}\r\n`).join(''));
  for (const stream of [resp, inline]) {
    for (let i = 0; i <= stream.length; i += 7) {
      assert.deepEqual(parseChunks([stream.subarray(0, i), stream.subarray(i)]), EVERY_COMMAND, `split at ${i}`);
    }
  }
});
