/**
 * `npm run chaos -- --short` as part of the suite: a real 3-node cluster in network namespaces through
 * isolate-one, kill-one and pause-one, every checker on. Exit 77 (cannot run here: not root, no
 * namespaces) is a skip outside CI and a failure with CI=true.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { skipOrFailInCi } from '../helpers/required-tool.js';
import { leftovers, startHarness } from './harness-run.js';

test('npm run chaos -- --short: every checker passes and nothing is left behind', { timeout: 240_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'ringkv-chaos-short-'));
  const h = startHarness(['--short', '--out', out]);
  const { code } = await h.exit;
  const lines = h.stdout().trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (code === 77) {
    rmSync(out, { recursive: true, force: true });
    return skipOrFailInCi(t, `the fault harness cannot run here: ${h.stderr().trim().split('\n').pop()}`);
  }
  const figures = JSON.parse(last) as { result: string; lost: Record<string, number>; durationS: number };
  t.diagnostic(`chaos --short: ${last}`);
  assert.deepEqual(Object.keys(figures.lost).sort(), ['counter', 'register', 'set-full']);
  assert.ok(figures.durationS <= 180, `the short schedule took ${figures.durationS} s (at most 180)`);
  assert.deepEqual(await leftovers(h.child.pid!), []);
  assert.equal(code, 0, `the harness found violations (history and timeline kept in ${out}):\n${h.stdout().slice(-6000)}`);
  assert.equal(figures.result, 'pass');
  assert.equal(figures.lost['set-full'], 0);
  assert.equal(figures.lost.counter, 0);
  rmSync(out, { recursive: true, force: true });
});
