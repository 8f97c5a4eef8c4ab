/**
 * Operations against a real 3-node cluster: the operator CLI (tables, --json, exit codes), the
 * Grafana dashboard's metric names against what a node exports, /cluster/status and the live
 * stream, and RESP INFO's new fields.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { http, startTestCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { cliArgs as cli, repoRoot as root } from '../helpers/paths.js';

function ringkv(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...cli, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, RINGKV_URL: '', RINGKV_PASSWORD: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** the same, without blocking this process (its event loop restarts nodes meanwhile) */
function ringkvAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cli, ...args], { env: { ...process.env, RINGKV_URL: '', RINGKV_PASSWORD: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** one RESP command over a raw socket; resolves with the whole reply text */
function resp(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString();
      const m = /^\$(\d+)\r\n/.exec(text);
      if ((m && Buffer.byteLength(text) >= m[0].length + Number(m[1]) + 2) || (!m && text.endsWith('\r\n'))) {
        socket.end();
        resolve(text);
      }
    });
    socket.on('error', reject);
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

let tc: TestCluster;
let url: string;
before(async () => {
  tc = await startTestCluster({ nodes: 3, resp: true });
  url = tc.node('n1').httpUrl;
  const client = tc.client();
  for (let i = 0; i < 60; i++) {
    await client.put(`ops-${i}`, `v${i}`);
    await client.get(`ops-${i}`);
  }
  assert.match(await resp(tc.node('n1').spec.respPort, 'SET', 'resp-key', 'x'), /^\+OK/);
});
after(async () => {
  await tc?.stop();
});

test('every metric the Grafana dashboard uses is exported by a running node', async () => {
  const dashboard = readFileSync(join(root, 'deploy', 'grafana', 'ringkv.json'), 'utf8');
  const exprs: string[] = [];
  JSON.stringify(JSON.parse(dashboard), (k, v) => {
    if ((k === 'expr' || k === 'query') && typeof v === 'string') exprs.push(v);
    return v;
  });
  const used = new Set(exprs.flatMap((e) => e.match(/\bringkv_[a-z0-9_]+/g) ?? []));
  assert.ok(used.size > 30, `${used.size} metric names`);
  const lines = (await http(url, 'GET', '/metrics')).text.split('\n');
  // a series with samples, or a metric the node declares (a labelled gauge without values yet, e.g.
  // hints pending while no replica is down); a histogram declares its _bucket, _sum and _count
  const exported = new Set(lines.filter((l) => l.startsWith('ringkv_')).map((l) => l.split(/[{ ]/)[0]));
  for (const l of lines) {
    const m = /^# TYPE (ringkv_\w+) (\w+)$/.exec(l);
    if (!m) continue;
    exported.add(m[1]);
    if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(m[1] + suffix);
  }
  const missing = [...used].filter((name) => !exported.has(name));
  assert.deepEqual(missing, [], 'metric names used by deploy/grafana/ringkv.json that no node exports');
  // and the labels the dashboard filters on exist
  const text = (await http(url, 'GET', '/metrics')).text;
  for (const series of ['ringkv_pbs_visibility_delta_seconds{n="3",r="2",w="2",probability="0.999"', 'ringkv_pbs_fresh_read_probability{n="3",r="1",w="1",delta_ms="0"', 'ringkv_storage_engine_stat{stat="keys"', 'ringkv_resp_commands_total{command="set"', 'ringkv_membership_members{status="up",node="n1"} 3', 'ringkv_membership_phi{peer="n2"']) {
    assert.ok(text.includes(series), series);
  }
});

test('/cluster/status is the typed status; bad parameters are a 400; the live stream sends overviews', async () => {
  const status = (await http(url, 'GET', '/cluster/status?series=5')).json();
  assert.equal(status.node, 'n1');
  assert.equal(status.members.length, 3);
  assert.equal(status.ring.owners.length, 256);
  assert.equal(status.series.t.length, Math.max(1, Math.min(5, Math.ceil(status.uptimeMs / 1000))), 'no history from before the start');
  assert.ok(status.requests.operations.put.total > 0);
  assert.equal(status.hints.pendingCount, 0);
  assert.equal(status.membership, 'gossip');
  assert.equal(status.antiEntropy.enabled, true);
  const bad = await http(url, 'GET', '/cluster/status?series=soon');
  assert.equal(bad.status, 400);
  assert.equal(bad.json().error.code, 'BAD_PARAMETER');
  const controller = new AbortController();
  const res = await fetch(`${url}/ui/events`, { signal: controller.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done || /event: overview\ndata: [^\n]*\n\n/.test(text + value)) {
      text += value ?? '';
      break;
    }
    text += value;
  }
  const event = JSON.parse(/event: overview\ndata: ([^\n]*)\n\n/.exec(text)![1]);
  assert.equal(event.servedBy, 'n1');
  assert.deepEqual(event.members.map((m: { id: string; status: string }) => `${m.id} ${m.status}`), ['n1 up', 'n2 up', 'n3 up']);
  controller.abort();
});

test('RESP INFO carries the node status figures', async () => {
  const info = await resp(tc.node('n2').spec.respPort, 'INFO');
  assert.match(info, /ringkv_incarnation:1\r\n/);
  assert.match(info, /ringkv_partitions_owned:\d+\r\n/);
  assert.match(info, /ringkv_pbs_ready:[01]\r\n/);
  assert.match(info, /instantaneous_ops_per_sec:\d+\r\n/);
});

test('ringkv status, ring, info and top: tables by default, JSON with --json', () => {
  const status = ringkv('status', '--url', url);
  assert.equal(status.status, 0, status.stderr);
  const rows = status.stdout.split('\n').filter((l) => /^up\s+n\d/.test(l));
  assert.equal(rows.length, 3, status.stdout);
  assert.match(status.stdout, /^status\s+node\s+address\s+zone\s+phi\s+incarnation\s+partitions\s+owns\s+data\s+ops\/s/m);
  assert.match(status.stdout, /3 of 3 members up/);
  assert.match(status.stdout, /staleness \(PBS, n1's prediction for N=3 R=2 W=2\)/);
  const statusJson = JSON.parse(ringkv('status', '--url', url, '--json').stdout);
  assert.deepEqual(statusJson.members.map((m: { status: string }) => m.status), ['up', 'up', 'up']);

  const ring = ringkv('ring', '--url', url);
  assert.equal(ring.status, 0, ring.stderr);
  assert.match(ring.stdout, /^256 partitions, N=3/);
  const owned = ring.stdout.split('\n').filter((l) => /^n\d\s/.test(l)).map((l) => Number(l.split(/\s+/)[1]));
  assert.equal(owned.reduce((a, b) => a + b, 0), 256);
  assert.match(ringkv('ring', '--url', url, '--partitions').stdout, /^partitions\s+owner\s+preference list$/m);
  const ringJson = JSON.parse(ringkv('ring', '--url', url, '--json').stdout);
  assert.equal(ringJson.Q, 256);
  assert.equal(ringJson.partitions.length, 256);

  const info = ringkv('info', 'n2', '--url', url);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /^node\s+n2$/m);
  assert.match(info.stdout, /^hints: 0 pending \(0 B\); \d+ stored/m);
  assert.equal(JSON.parse(ringkv('info', 'n3', '--url', url, '--json').stdout).node, 'n3');
  assert.equal(JSON.parse(ringkv('info', tc.node('n3').httpUrl, '--json').stdout).node, 'n3');
  const unknown = ringkv('info', 'n9', '--url', url);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /no member "n9"/);

  const top = ringkv('top', '--url', url);
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.stdout, /^ringkv top/);
  assert.match(top.stdout, /^n1\s+up\s+get\s/m);
  const topJson = ringkv('top', '--url', url, '--json', '--iterations', '2', '--interval-ms', '100');
  assert.equal(topJson.stdout.trim().split('\n').map((l) => JSON.parse(l).servedBy).join(), 'n1,n1');
});

test('ringkv repair runs an anti-entropy exchange and reports it; a partition the node does not hold is a usage error', async () => {
  const one = ringkv('repair', '--url', url, '--partition', '0');
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /^repair #1 of partition 0: 1 partition\(s\), 2 exchange\(s\) \(0 failed\)/);
  const all = JSON.parse(ringkv('repair', '--url', url, '--json').stdout);
  assert.equal(all.running, false);
  assert.equal(all.partitionsTotal, 256, 'with n=3 on 3 nodes every node replicates every partition');
  assert.equal(all.exchangesFailed, 0);
  const status = (await http(url, 'GET', '/cluster/status')).json();
  assert.equal(status.antiEntropy.operatorRepair.id, all.id);
  const bad = ringkv('repair', '--url', url, '--partition', '99999');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /BAD_PARAMETER \(HTTP 400\): partition must be an integer from 0 to 255/);
  assert.match(ringkv('info', 'n1', '--url', url).stdout, /^anti-entropy: scheduled, \d+ exchanges .*last repair: 256 partition/m);
});

test('exit codes: usage (2), unreachable (1), degraded (3), then --wait until all are up; hints and transfers', async () => {
  const hints = ringkv('hints', '--url', url);
  assert.equal(hints.status, 0, hints.stderr);
  assert.match(hints.stdout, /^0 hint\(s\) pending \(0 B\); \d+ stored, \d+ delivered, 0 dropped since start/);
  assert.equal(JSON.parse(ringkv('hints', '--url', url, '--json').stdout).pendingCount, 0);
  const transfers = ringkv('transfers', '--url', url);
  assert.equal(transfers.status, 0, transfers.stderr);
  assert.equal(transfers.stdout, 'no partition transfers in flight on this node\n');
  assert.deepEqual(JSON.parse(ringkv('transfers', '--url', url, '--json').stdout), { inbound: [] });
  assert.equal(ringkv('status', '--bogus').status, 2);
  assert.equal(ringkv('repair', '--url', url, '--partition', 'first').status, 2);
  assert.equal(ringkv('top', '--url', url, '--interval-ms', 'soon').status, 2);
  const unreachable = ringkv('status', '--url', 'http://127.0.0.1:1');
  assert.equal(unreachable.status, 1);
  assert.match(unreachable.stderr, /UNREACHABLE/);

  await tc.node('n3').kill();
  // with gossip membership the member table marks n3 down once the failure detector convicts it
  const degraded = await waitFor('ringkv status to exit 3', async () => {
    const r = await ringkvAsync('status', '--url', url);
    return r.status === 3 ? r : undefined;
  }, 20_000, 200);
  assert.match(degraded.stdout, /^down\s+n3\s.*connection refused$/m);
  assert.match(degraded.stdout, /2 of 3 members up/);
  const [waited] = await Promise.all([ringkvAsync('status', '--url', url, '--wait', '30'), tc.node('n3').restart()]);
  assert.equal(waited.status, 0, waited.stdout + waited.stderr);
  assert.match(waited.stdout, /3 of 3 members up/);
});
