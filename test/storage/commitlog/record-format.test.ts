import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeRecord, RecordDecoder, RECORD_HEADER_BYTES } from '../../../src/storage/commitlog/record-format.js';
import type { DecoderEnd } from '../../../src/storage/commitlog/record-format.js';
import { bytes, concat, text } from '../storage-test-kit.js';

interface Decoded {
  records: string[];
  offsets: number[];
  corruption: Array<{ start: number; end: number }>;
  end: DecoderEnd;
}

/** Decodes `data` pushed in pieces cut at `cuts`. */
function decode(data: Uint8Array, cuts: number[] = []): Decoded {
  const out: Decoded = { records: [], offsets: [], corruption: [], end: { tail: 'clean', validLengthBytes: 0 } };
  const decoder = new RecordDecoder({
    record(payload, offset) {
      out.records.push(text(payload));
      out.offsets.push(offset);
    },
    corruption(start, end) {
      out.corruption.push({ start, end });
    },
  });
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    decoder.push(data.subarray(from, cut));
    from = cut;
  }
  decoder.push(data.subarray(from));
  out.end = decoder.end();
  return out;
}

const payloads = ['alpha', '', 'a somewhat longer record payload', 'x'.repeat(300), 'omega'];
const frames = payloads.map((p) => encodeRecord(bytes(p)));
const log = concat(frames);
const recordStarts = frames.reduce<number[]>((acc, f, i) => [...acc, i === 0 ? 0 : acc[i - 1] + frames[i - 1].length], []);

test('decoder: clean log, fed whole or split at every single offset', () => {
  const whole = decode(log);
  assert.deepEqual(whole.records, payloads);
  assert.deepEqual(whole.offsets, recordStarts);
  assert.deepEqual(whole.end, { tail: 'clean', validLengthBytes: log.length });
  for (let cut = 0; cut <= log.length; cut++) {
    const split = decode(log, [cut]);
    assert.deepEqual(split.records, payloads, `cut at ${cut}`);
    assert.equal(split.end.tail, 'clean');
  }
});

test('decoder: random multi-way splits give the same records', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: log.length }), { maxLength: 20 }), (cuts) => {
      const r = decode(log, cuts);
      assert.deepEqual(r.records, payloads);
      assert.equal(r.end.tail, 'clean');
    }),
    { numRuns: 200 },
  );
});

test('decoder: a torn tail at EVERY byte offset of the last record keeps all earlier records', () => {
  const lastStart = recordStarts[recordStarts.length - 1];
  for (let cutAt = lastStart; cutAt < log.length; cutAt++) {
    const torn = log.subarray(0, cutAt);
    for (const cuts of [[], [Math.floor(cutAt / 2)], [cutAt - 1]]) {
      const r = decode(torn, cuts);
      assert.deepEqual(r.records, payloads.slice(0, -1), `torn at ${cutAt}`);
      assert.deepEqual(r.corruption, []);
      if (cutAt === lastStart) assert.equal(r.end.tail, 'clean');
      else assert.deepEqual([r.end.tail, r.end.validLengthBytes], ['torn', lastStart], `torn at ${cutAt}`);
    }
  }
});

test('decoder: zero-filled tail is torn, not corrupt', () => {
  const r = decode(concat([log, new Uint8Array(40)]));
  assert.deepEqual(r.records, payloads);
  assert.deepEqual([r.end.tail, r.end.validLengthBytes], ['torn', log.length]);
});

test('decoder: every single-bit flip is detected and never yields a wrong record', () => {
  // Flip each bit of records 1..3 (header and payload): the damaged record is reported as corruption
  // followed by the valid records after it; no other record is lost or altered.
  const target = 2;
  const start = recordStarts[target];
  for (let at = start; at < start + frames[target].length; at++) {
    for (let bit = 0; bit < 8; bit++) {
      const damaged = log.slice();
      damaged[at] ^= 1 << bit;
      const r = decode(damaged, [at]);
      assert.deepEqual(r.records, payloads.filter((_, i) => i !== target), `flip ${at}:${bit}`);
      assert.deepEqual(r.corruption, [{ start, end: recordStarts[target + 1] }], `flip ${at}:${bit}`);
      assert.equal(r.end.tail, 'clean');
    }
  }
});

test('decoder: a flip in the last record is a corrupt tail; a flipped length bit there stays detected', () => {
  const lastStart = recordStarts[recordStarts.length - 1];
  for (const at of [lastStart, lastStart + 1, lastStart + 5, lastStart + 9, lastStart + RECORD_HEADER_BYTES + 2]) {
    const damaged = log.slice();
    damaged[at] ^= 0x10;
    const r = decode(damaged);
    assert.deepEqual(r.records, payloads.slice(0, -1));
    assert.deepEqual([r.end.tail, r.end.validLengthBytes], ['corrupt', lastStart], `flip at ${at}`);
  }
});

test('decoder: garbage between records is resynchronised over', () => {
  const garbage = Uint8Array.from({ length: 37 }, (_, i) => (i * 73 + 11) & 0xff);
  const data = concat([frames[0], garbage, frames[1], frames[2]]);
  const r = decode(data, [5, 20, 50]);
  assert.deepEqual(r.records, payloads.slice(0, 3));
  assert.deepEqual(r.corruption, [{ start: frames[0].length, end: frames[0].length + garbage.length }]);
});

test('decoder: records of any content round-trip through arbitrary splits', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), (records, rawCuts) => {
      const data = concat(records.map(encodeRecord));
      const got: Uint8Array[] = [];
      const decoder = new RecordDecoder({ record: (p) => got.push(p), corruption: () => assert.fail('no corruption expected') });
      let from = 0;
      for (const cut of rawCuts.map((c) => c % (data.length + 1)).sort((a, b) => a - b)) {
        decoder.push(data.subarray(from, cut));
        from = cut;
      }
      decoder.push(data.subarray(from));
      assert.equal(decoder.end().tail, 'clean');
      assert.deepEqual(got, records);
    }),
    { numRuns: 200 },
  );
});
