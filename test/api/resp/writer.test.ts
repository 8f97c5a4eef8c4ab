import test from 'node:test';
import assert from 'node:assert/strict';
import { RespWriter, encodeReply } from '../../../src/api/resp/writer.js';
import { NULL, NULL_ARRAY, OK, array, bool, bulk, err, int, map, set, simple, stringMap, verbatim, type Reply } from '../../../src/api/resp/reply.js';

const cases: Array<{ reply: Reply; resp2: string; resp3: string }> = [
  { reply: OK, resp2: '+OK\r\n', resp3: '+OK\r\n' },
  { reply: err('ERR bad\r\nthing'), resp2: '-ERR bad  thing\r\n', resp3: '-ERR bad  thing\r\n' },
  { reply: int(-42), resp2: ':-42\r\n', resp3: ':-42\r\n' },
  { reply: int(123456789012345678901234567890n), resp2: ':123456789012345678901234567890\r\n', resp3: ':123456789012345678901234567890\r\n' },
  { reply: bulk('héllo'), resp2: '$6\r\nhéllo\r\n', resp3: '$6\r\nhéllo\r\n' },
  { reply: bulk(Buffer.from([0, 13, 10])), resp2: '$3\r\n\x00\r\n\r\n', resp3: '$3\r\n\x00\r\n\r\n' },
  { reply: bulk(''), resp2: '$0\r\n\r\n', resp3: '$0\r\n\r\n' },
  { reply: NULL, resp2: '$-1\r\n', resp3: '_\r\n' },
  { reply: NULL_ARRAY, resp2: '*-1\r\n', resp3: '_\r\n' },
  { reply: array([int(1), array([]), NULL]), resp2: '*3\r\n:1\r\n*0\r\n$-1\r\n', resp3: '*3\r\n:1\r\n*0\r\n_\r\n' },
  { reply: map([[bulk('a'), int(1)]]), resp2: '*2\r\n$1\r\na\r\n:1\r\n', resp3: '%1\r\n$1\r\na\r\n:1\r\n' },
  { reply: stringMap([['k', bool(true)], ['f', bool(false)]]), resp2: '*4\r\n$1\r\nk\r\n:1\r\n$1\r\nf\r\n:0\r\n', resp3: '%2\r\n$1\r\nk\r\n#t\r\n$1\r\nf\r\n#f\r\n' },
  { reply: set([simple('x')]), resp2: '*1\r\n+x\r\n', resp3: '~1\r\n+x\r\n' },
  { reply: verbatim('a:1\r\n'), resp2: '$5\r\na:1\r\n\r\n', resp3: '=9\r\ntxt:a:1\r\n\r\n' },
];

test('every reply type in RESP2 and RESP3', () => {
  for (const c of cases) {
    assert.equal(encodeReply(c.reply, 2).toString('utf8'), c.resp2, c.resp2);
    assert.equal(encodeReply(c.reply, 3).toString('utf8'), c.resp3, c.resp2);
  }
});

test('replies accumulate into one buffer; take() hands over bytes the writer never touches again', () => {
  const w = new RespWriter();
  const big = Buffer.alloc(40_000, 0x62);
  w.write(OK, 2);
  w.write(bulk(big), 2);
  const first = w.take();
  assert.equal(first.length, 5 + 8 + 40_000 + 2);
  assert.equal(w.length, 0);
  const copy = Buffer.from(first);
  for (let i = 0; i < 100; i++) w.write(bulk(big), 3);
  assert.deepEqual(first, copy);
  assert.equal(w.take().length, 100 * (8 + 40_000 + 2));
});
