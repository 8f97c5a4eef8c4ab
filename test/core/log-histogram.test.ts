import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LogHistogram } from '../../src/core/log-histogram.js';

test('quantiles lie within one bin (≈ 9 %) above the exact order statistic', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0.002, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (values, q) => {
      const h = new LogHistogram();
      for (const v of values) h.record(v);
      const sorted = [...values].sort((a, b) => a - b);
      const exact = sorted[Math.max(0, Math.ceil(q * values.length) - 1)];
      const got = h.quantile(q);
      assert.ok(got >= exact * 0.999 && got <= exact * 2 ** (1 / 8) * 1.001, `q=${q}: ${got} vs ${exact}`);
    }),
  );
});

test('histograms add, clear, and say NaN when empty', () => {
  const a = new LogHistogram();
  const b = new LogHistogram();
  assert.ok(Number.isNaN(a.quantile(0.5)));
  for (let i = 1; i <= 50; i++) a.record(i);
  for (let i = 51; i <= 100; i++) b.record(i);
  a.add(b);
  assert.equal(a.total, 100);
  assert.ok(Math.abs(a.quantile(0.5) - 50) / 50 < 0.1);
  assert.ok(Math.abs(a.quantile(0.99) - 99) / 99 < 0.1);
  a.record(-1);
  a.record(Number.NaN);
  assert.equal(a.quantile(0.01), 0.001);
  a.clear();
  assert.equal(a.total, 0);
});
