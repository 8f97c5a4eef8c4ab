import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LsmEngine } from '../../src/storage/lsm/lsm-engine.js';
import { PreadNodeFS } from '../../src/storage/lsm/pread-fs.js';

/**
 * A real process, a real disk, a real SIGKILL: a child writes with batch sync and reports each
 * acknowledged key; it is killed at random moments, restarted, and at the end every acknowledged key
 * must read back with its value.
 */
const KILLS = 20;

function fixtureCommand(): string[] {
  // compiled: dist/test/storage/kill9.test.js → dist/test/storage/fixtures/kill9-writer.js;
  // under tsx the .ts fixture runs through tsx's loader
  const js = fileURLToPath(new URL('./fixtures/kill9-writer.js', import.meta.url));
  if (existsSync(js)) return [js];
  return ['--import', 'tsx', fileURLToPath(new URL('./fixtures/kill9-writer.ts', import.meta.url))];
}

function runAndKill(dir: string, run: number, killAfterMs: number, acked: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...fixtureCommand(), dir, String(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === 'ready' && timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        else if (line.startsWith('ack ')) acked.push(line.slice(4));
      }
    });
    child.stderr.on('data', (c) => (stderr += String(c)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited with ${code} ${signal}: ${stderr}`));
    });
  });
}

test(`kill -9 during batch-sync writes (${KILLS} kills): every acknowledged key survives`, { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringkv-kill9-'));
  try {
    const acked: string[] = [];
    for (let run = 0; run < KILLS; run++) {
      await runAndKill(dir, run, 30 + Math.floor(Math.random() * 300), acked);
    }
    assert.ok(acked.length > KILLS * 10, `the writer acknowledged only ${acked.length} writes`);
    const engine = await LsmEngine.open(new PreadNodeFS(), { dir, syncMode: 'batch' });
    try {
      let missing = 0;
      for (const key of acked) {
        const i = Number(key.slice(key.indexOf('-') + 1));
        const got = await engine.get(i % 16, Buffer.from(key));
        if (got === undefined || Buffer.from(got).toString() !== `${key}|`.repeat(8)) missing++;
      }
      assert.equal(missing, 0, `${missing} of ${acked.length} acknowledged writes lost`);
      assert.equal(engine.stats().corruptTables, 0);
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
