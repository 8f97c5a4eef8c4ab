import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BATCH_OVERHEAD_BYTES, batchFrame, DEFAULT_MAX_FRAME_BYTES, encodeEnvelope, encodeFrame, FrameDecoder } from '../../src/net/frame-codec.js';
import { RingkvError } from '../../src/core/errors.js';

const sampleValues: unknown[] = [
  [1, 7, { type: 'read', partition: 3, key: Buffer.from('user:42') }],
  [2, 7, { type: 'read_ok', object: { value: Buffer.from([0, 255, 1, 2]), vv: { n1: 3 } } }],
  [4, { type: 'gossip', members: ['n1', 'n2'], heartbeat: 123456789012, delta: 5n }],
  [3, 9, 'TIMEOUT', 'too slow'],
  [0, 'n1', 1],
  'x'.repeat(300), // a str16 payload, header bytes beyond the first
];

function concat(frames: Buffer[]): Buffer {
  return Buffer.concat(frames);
}

function isMalformed(e: unknown): boolean {
  return e instanceof RingkvError && e.code === 'MALFORMED_FRAME';
}

test('encodeFrame writes a big-endian u32 payload length in front of the msgpack payload', () => {
  const frame = encodeFrame({ type: 'ping' });
  assert.equal(frame.readUInt32BE(0), frame.length - 4);
  assert.deepEqual(new FrameDecoder().push(frame), [{ type: 'ping' }]);
});

test('frames stay valid after later encodes (no buffer reuse across calls)', () => {
  const frames = sampleValues.map((v) => encodeFrame(v));
  const copies = frames.map((f) => Buffer.from(f));
  for (let i = 0; i < 2000; i++) encodeFrame({ type: 'filler', i, blob: Buffer.alloc(100, i) });
  assert.deepEqual(frames, copies);
});

test('many frames in one chunk decode in order; binary values come back as bytes', () => {
  const decoded = new FrameDecoder().push(concat(sampleValues.map((v) => encodeFrame(v))));
  assert.deepEqual(decoded, sampleValues.map((v) => v));
  // a plain Uint8Array goes out as msgpack bin and comes back as a Buffer (a Uint8Array) with its bytes
  const [plain] = new FrameDecoder().push(encodeFrame({ type: 't', value: new Uint8Array([9, 8, 7]) })) as [{ value: Uint8Array }];
  assert.ok(plain.value instanceof Uint8Array);
  assert.deepEqual([...plain.value], [9, 8, 7]);
});

test('decoded binary values do not alias the input chunk', () => {
  const chunk = encodeFrame({ type: 'v', value: Buffer.from('abc') });
  const [decoded] = new FrameDecoder().push(chunk) as [{ value: Buffer }];
  chunk.fill(0);
  assert.equal(decoded.value.toString(), 'abc');
});

/** Feeds the stream to one decoder in pieces cut at the given offsets (taken modulo its length + 1). */
function decodeInPieces(stream: Buffer, rawCuts: number[]): { out: unknown[]; leftover: number } {
  const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
  const decoder = new FrameDecoder();
  const out: unknown[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    out.push(...decoder.push(stream.subarray(from, cut)));
    from = cut;
  }
  return { out, leftover: decoder.bufferedBytes };
}

/** Cuts the stream at every offset a and every `step`-th offset b >= a; each way must decode to `expected`. */
function decodesAtEveryCut(stream: Buffer, expected: unknown[], step: number): void {
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b += step) {
      const decoder = new FrameDecoder();
      const out = [...decoder.push(stream.subarray(0, a)), ...decoder.push(stream.subarray(a, b)), ...decoder.push(stream.subarray(b))];
      assert.deepEqual(out, expected, `cuts at ${a} and ${b}`);
      assert.equal(decoder.bufferedBytes, 0);
    }
  }
}

test('input split at every offset (two cuts) gives the same frames', () => {
  decodesAtEveryCut(concat(sampleValues.map((v) => encodeFrame(v))), sampleValues, 7);
});

test('byte-at-a-time input decodes, and the leftover is reported while a frame is incomplete', () => {
  const stream = concat(sampleValues.map((v) => encodeFrame(v)));
  const decoder = new FrameDecoder();
  const out: unknown[] = [];
  for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
  assert.deepEqual(out, sampleValues);
  decoder.push(stream.subarray(0, 3));
  assert.equal(decoder.bufferedBytes, 3);
});

const messageArb = fc.record({
  type: fc.string({ minLength: 1, maxLength: 12 }),
  id: fc.nat(),
  key: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  text: fc.string({ maxLength: 80 }),
  list: fc.array(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 5 })), { maxLength: 6 }),
  blob: fc.oneof(fc.constant(null), fc.uint8Array({ minLength: 0, maxLength: 70_000 }).map((a) => Buffer.from(a))),
}, { noNullPrototype: true });

test('random message sequences cut at random offsets decode to the same messages (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(messageArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (messages, rawCuts) => {
      const { out, leftover } = decodeInPieces(concat(messages.map((m) => encodeFrame(m))), rawCuts);
      assert.deepEqual(out, messages);
      assert.equal(leftover, 0);
    }),
    { numRuns: 150, seed: 20240611 },
  );
});

test('a declared length over maxFrameBytes is MALFORMED_FRAME, before the payload arrives', () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 1000 });
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1001, 0);
  assert.throws(() => decoder.push(header), (e) => isMalformed(e) && /1001 bytes.*maxFrameBytes \(1000\)/.test((e as Error).message));
  // the stream cannot resynchronise: the decoder stays failed
  assert.throws(() => decoder.push(encodeFrame({ type: 'ok' })), isMalformed);

  // the same when the header itself is split across chunks, and with the default limit
  const split = new FrameDecoder();
  const big = Buffer.alloc(4);
  big.writeUInt32BE(DEFAULT_MAX_FRAME_BYTES + 1, 0);
  assert.deepEqual(split.push(big.subarray(0, 2)), []);
  assert.throws(() => split.push(big.subarray(2)), isMalformed);

  // exactly at the limit is fine
  const frame = encodeFrame({ type: 'x', pad: 'y'.repeat(900) });
  const payloadBytes = frame.length - 4;
  assert.equal(new FrameDecoder({ maxFrameBytes: payloadBytes }).push(frame).length, 1);
  assert.throws(() => new FrameDecoder({ maxFrameBytes: payloadBytes - 1 }).push(frame), isMalformed);
});

test('encodeFrame refuses a message larger than maxFrameBytes', () => {
  assert.throws(() => encodeFrame({ type: 'big', blob: Buffer.alloc(2000) }, 1000), (e) => e instanceof RingkvError && e.code === 'VALUE_TOO_LARGE');
});

test('garbage bytes are MALFORMED_FRAME, not a crash or a hang', () => {
  const withLength = (payload: Buffer): Buffer => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(payload.length, 0);
    return Buffer.concat([h, payload]);
  };
  // truncated array, trailing bytes, reserved type byte followed by junk, zero length
  for (const payload of [Buffer.from([0x93, 0x01]), Buffer.from([0x01, 0x02]), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0xc1, 0xc1])]) {
    assert.throws(() => new FrameDecoder().push(withLength(payload)), isMalformed, payload.toString('hex'));
  }
  assert.throws(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 0])), isMalformed);
  // an HTTP request sent to the internode port declares a huge length ("GET " = 0x47455420)
  assert.throws(() => new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\n\r\n')), isMalformed);
});

test('fuzz: random bytes either decode or throw MALFORMED_FRAME (fast-check)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const decoder = new FrameDecoder({ maxFrameBytes: 4096 });
      try {
        decoder.push(bytes);
      } catch (e) {
        assert.ok(isMalformed(e), String(e));
      }
    }),
    { numRuns: 500, seed: 7 },
  );
});

function batchOf(values: unknown[]): Buffer {
  const parts = values.map((v) => encodeEnvelope(v));
  return batchFrame(parts, parts.reduce((n, p) => n + p.length, 0));
}

test('a batch frame is one msgpack array of the envelopes packed one by one', () => {
  const frame = batchOf(sampleValues);
  assert.equal(frame.readUInt32BE(0), frame.length - 4);
  assert.deepEqual(new FrameDecoder().push(frame), [sampleValues]);
  assert.deepEqual(new FrameDecoder().push(batchOf([])), [[]]);
});

test('batch frames split at every offset (two cuts) decode to the same batches', () => {
  const batches = [sampleValues.slice(0, 2), sampleValues.slice(2), [sampleValues[4]]];
  decodesAtEveryCut(Buffer.concat(batches.map(batchOf)), batches, 5);
});

test('random batches cut at random offsets decode to the same batches (fast-check)', () => {
  const value = fc.oneof(
    fc.tuple(fc.constant(1), fc.nat(), fc.record({ type: fc.string({ minLength: 1 }), key: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), n: fc.integer() }).map((r) => ({ ...r }))),
    fc.tuple(fc.constant(3), fc.nat(), fc.string(), fc.string()),
  );
  fc.assert(
    fc.property(fc.array(fc.array(value, { maxLength: 6 }), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (batches, cuts) => {
      assert.deepEqual(decodeInPieces(Buffer.concat(batches.map(batchOf)), cuts).out, batches);
    }),
    { numRuns: 300, seed: 11 },
  );
});

test('encodeEnvelope refuses an envelope that would not fit a batch frame of maxFrameBytes', () => {
  const fits = encodeEnvelope({ type: 'x', pad: 'y'.repeat(900) });
  const limit = fits.length + BATCH_OVERHEAD_BYTES - 4;
  assert.equal(encodeEnvelope({ type: 'x', pad: 'y'.repeat(900) }, limit).length, fits.length);
  assert.throws(() => encodeEnvelope({ type: 'x', pad: 'y'.repeat(900) }, limit - 1), (e) => e instanceof RingkvError && e.code === 'VALUE_TOO_LARGE');
});
