/**
 * The real Redis tools (Debian redis-tools: redis-cli, redis-benchmark) for tests: whether they are
 * installed, and a redis-benchmark run that fails on any error reply. .ci/run installs them; without
 * them the tests that need them skip with the message from `missingTool` (fail in CI: see
 * test/helpers/required-tool.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export async function hasBinary(name: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

export const missingTool = (name: string): string => `${name} not installed (apt-get install -y redis-tools)`;

/**
 * Runs `redis-benchmark -t <tests> -n <requests> -c <clients> --csv` against host:port and asserts that
 * it reported no error and a row for every test, in order.
 */
export async function redisBenchmarkWithoutErrors(port: number, tests: string[], requests: number, clients: number, timeoutMs: number): Promise<void> {
  const { stdout, stderr } = await run(
    'redis-benchmark',
    ['-h', '127.0.0.1', '-p', String(port), '-t', tests.join(','), '-n', String(requests), '-c', String(clients), '--csv'],
    { timeout: timeoutMs },
  );
  // redis-benchmark 7 exits non-zero at the first error reply (execFile would reject)
  assert.doesNotMatch(stdout + stderr, /Error/i);
  const rows = stdout.trim().split('\n').slice(1).map((line) => line.split(',')[0].replaceAll('"', ''));
  assert.deepEqual(rows, tests.map((t) => t.toUpperCase()));
}
