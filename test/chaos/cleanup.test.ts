/**
 * The harness removes everything it made — namespaces, iptables rules and qdiscs (inside them),
 * tmpfs mounts, processes — on Ctrl-C, and when its launcher is killed with SIGKILL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNeeding } from '../helpers/required-tool.js';
import { waitFor } from '../helpers/wait.js';
import { canRunHarness, leftovers, startHarness } from './harness-run.js';

const LONG_FAULT = ['--nemeses', 'pause-one', '--fault-seconds', '120', '--quiet-seconds', '1', '--nodes', '3'];

testNeeding('Ctrl-C in the middle of a fault (a paused node) removes every namespace, mount and process', canRunHarness, { timeout: 90_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'ringkv-chaos-int-'));
  const h = startHarness([...LONG_FAULT, '--out', out]);
  try {
    await h.line(/fault pause-one/, 60_000);
    assert.ok((await leftovers(h.child.pid!)).some((l) => l.startsWith('namespace')), 'the run made namespaces');
    h.child.kill('SIGINT');
    const { code } = await h.exit;
    assert.equal(code, 130, h.stderr());
    assert.deepEqual(await leftovers(h.child.pid!), []);
  } finally {
    h.child.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
  }
});

testNeeding('kill -9 of the launcher: the run notices, stops and removes everything by itself', canRunHarness, { timeout: 90_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'ringkv-chaos-kill-'));
  const h = startHarness([...LONG_FAULT, '--out', out]);
  try {
    await h.line(/fault pause-one/, 60_000);
    h.child.kill('SIGKILL');
    await h.exit;
    await waitFor('the orphaned run to clean up after itself', async () => (await leftovers(h.child.pid!)).length === 0, 45_000, 200);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
