/** The `ringkv` command itself: config errors, client commands, and `ringkv dev` start/stop. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../src/cli/free-port.js';
import { startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

/** the CLI next to the compiled tests (dist/src/cli/main.js), or main.ts under tsx */
function cli(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return ['--import', 'tsx', join(here, '..', '..', '..', 'src', 'cli', 'main.ts')];
  return [join(here, '..', '..', '..', 'src', 'cli', 'main.js')];
}

function runCli(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...cli(), ...args], { encoding: 'utf8', timeout: 20_000, input: input ?? '', env: { ...process.env, RINGKV_URL: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tc: TestCluster;
before(async () => {
  tc = await startTestCluster({ nodes: 1, settings: { n: 1, r: 1, w: 1 } });
});
after(async () => {
  await tc?.stop();
});

test('an invalid config exits with code 2 and names the field, value and source', () => {
  const r = runCli(['start', '--http-port', 'abc']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /httpPort = "abc" \(from flag --http-port\)/);
  const env = spawnSync(process.execPath, [...cli(), 'start'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, RINGKV_N: '2', RINGKV_W: '3' } });
  assert.equal(env.status, 2, env.stderr);
  assert.match(env.stderr, /w = 3 \(from env RINGKV_W\): must be at most n \(2\)/);
});

test('start with peers or join but no cluster secret exits with code 2; an unreadable or short secret file too, never printing the secret', () => {
  const env = { ...process.env, RINGKV_CLUSTER_SECRET: '', RINGKV_CLUSTER_SECRET_FILE: '' };
  const joining = spawnSync(process.execPath, [...cli(), 'start', '--join', '127.0.0.1:1'], { encoding: 'utf8', timeout: 20_000, env });
  assert.equal(joining.status, 2, joining.stderr);
  assert.match(joining.stderr, /needs the cluster secret: --cluster-secret-file <path>/);
  const peers = spawnSync(process.execPath, [...cli(), 'start', '--node-id', 'n1', '--peers', 'n1@127.0.0.1:1,n2@127.0.0.1:2'], { encoding: 'utf8', timeout: 20_000, env });
  assert.equal(peers.status, 2, peers.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'ringkv-secret-'));
  try {
    const missing = spawnSync(process.execPath, [...cli(), 'start', '--engine', 'memory', '--http-port', '0', '--internal-port', '0', '--join', '127.0.0.1:1', '--cluster-secret-file', join(dir, 'nope')], { encoding: 'utf8', timeout: 20_000, env });
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /cannot read the cluster secret file .*nope: ENOENT/);
    writeFileSync(join(dir, 'short'), 'short-secret\n');
    const short = spawnSync(process.execPath, [...cli(), 'start', '--engine', 'memory', '--http-port', '0', '--internal-port', '0', '--join', '127.0.0.1:1', '--cluster-secret-file', join(dir, 'short')], { encoding: 'utf8', timeout: 20_000, env });
    assert.equal(short.status, 2, short.stderr);
    assert.match(short.stderr, /at least 16 characters/);
    assert.ok(!short.stderr.includes('short-secret'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('put, get and del commands talk to a node', () => {
  const url = tc.nodes[0].httpUrl;
  const put = runCli(['put', 'greeting', 'hello world', '--url', url]);
  assert.equal(put.status, 0, put.stderr);
  assert.ok(put.stdout.trim().length > 0, 'put prints the new context');
  const get = runCli(['get', 'greeting', '--url', url]);
  assert.equal(get.status, 0, get.stderr);
  assert.equal(get.stdout, 'hello world');
  assert.match(get.stderr, /context: \S+/);
  const fromStdin = runCli(['put', 'piped', '--url', url], 'from stdin');
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.equal(runCli(['get', 'piped', '--url', url]).stdout, 'from stdin');
  assert.equal(runCli(['del', 'greeting', '--url', url]).status, 0);
  const gone = runCli(['get', 'greeting', '--url', url]);
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /not found/);
  const badQuorum = runCli(['get', 'greeting', '--r', '7', '--url', url]);
  assert.equal(badQuorum.status, 1);
  assert.match(badQuorum.stderr, /BAD_PARAMETER \(HTTP 400\)/);
});

test('client commands report an unreachable node clearly', async () => {
  const [port] = await freePorts(1);
  const r = runCli(['get', 'k', '--url', `http://127.0.0.1:${port}`]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /UNREACHABLE/);
});

test('ringkv dev starts K nodes, prints their URLs and stops them all on SIGINT', async () => {
  const ports = await freePorts(4);
  const baseDir = mkdtempSync(join(tmpdir(), 'ringkv-dev-'));
  const child = spawn(
    process.execPath,
    [...cli(), 'dev', '--nodes', '2', '--engine', 'memory', '--base-dir', baseDir, '--http-port', String(ports[0]), '--internal-port', String(ports[2]), '--resp-port', '0', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    // the ports are consecutive from the base, so pick bases whose successors are free too
    await waitFor('dev cluster ready', () => output.includes('cluster ready') || output.includes('exited'), 30_000);
    if (!output.includes('cluster ready')) {
      // ports[0]+1 may have been taken: that is a property of the machine, not a failure of dev
      assert.match(output, /EADDRINUSE|did not become healthy|exited/);
      return;
    }
    assert.match(output, new RegExp(`n1 +http://127\\.0\\.0\\.1:${ports[0]}`));
    assert.match(output, new RegExp(`n2 +http://127\\.0\\.0\\.1:${ports[0] + 1}`));
    const health = await fetch(`http://127.0.0.1:${ports[0] + 1}/health`);
    assert.deepEqual(await health.json(), { node: 'n2', status: 'ok' });
    // the nodes share <base-dir>/cluster-secret, readable by its owner only, and see each other through it
    assert.equal(statSync(join(baseDir, 'cluster-secret')).mode & 0o777, 0o600);
    await waitFor('n1 and n2 see each other up', async () => {
      const members = (await (await fetch(`http://127.0.0.1:${ports[0]}/cluster/members`)).json()) as Array<{ status: string }>;
      return members.length === 2 && members.every((m) => m.status === 'up');
    }, 10_000);
    child.kill('SIGINT');
    assert.equal(await exited, 0, output);
    assert.match(output, /all nodes stopped/);
    await assert.rejects(fetch(`http://127.0.0.1:${ports[0]}/health`), 'n1 is gone');
  } finally {
    child.kill('SIGKILL');
    rmSync(baseDir, { recursive: true, force: true });
  }
});
