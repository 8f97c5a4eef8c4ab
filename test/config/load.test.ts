import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, envVarName, flagName, loadConfig } from '../../src/config/load.js';
import { membersFromConfig, toClusterConfig } from '../../src/config/cluster-mapping.js';
import { formatPeerList, parsePeerList } from '../../src/config/peers.js';
import { DEFAULT_CLUSTER_CONFIG } from '../../src/cluster/cluster-config.js';

const dir = mkdtempSync(join(tmpdir(), 'ringkv-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.exitCode, 2);
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('defaults match the documented ones and the cluster defaults', () => {
  const c = loadConfig();
  assert.equal(c.nodeId, 'n1');
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.httpPort, 8001);
  assert.equal(c.internalPort, 9001);
  assert.equal(c.respPort, 6381);
  assert.equal(c.dataDir, './data/n1');
  assert.equal(c.commitlogSync, 'batch');
  assert.equal(c.engine, 'lsm');
  assert.deepEqual(c.peers, []);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.password, undefined);
  assert.deepEqual(toClusterConfig(c), DEFAULT_CLUSTER_CONFIG);
});

test('names: env RINGKV_SNAKE_CASE, flags --kebab-case', () => {
  assert.equal(envVarName('httpPort'), 'RINGKV_HTTP_PORT');
  assert.equal(envVarName('maxValueBytes'), 'RINGKV_MAX_VALUE_BYTES');
  assert.equal(envVarName('n'), 'RINGKV_N');
  assert.equal(flagName('requestTimeoutMs'), '--request-timeout-ms');
  assert.equal(flagName('nodeId'), '--node-id');
});

test('precedence: defaults < file < env < flags', () => {
  const file = writeConfig('p.json', { nodeId: 'from-file', httpPort: 7001, internalPort: 7101, respPort: 7201, zone: 'file-zone' });
  const env = { RINGKV_HTTP_PORT: '7002', RINGKV_INTERNAL_PORT: '7102', RINGKV_ZONE: 'env-zone' };
  const flags = { httpPort: '7003' };
  const c = loadConfig({ file, env, flags });
  assert.equal(c.httpPort, 7003, 'flag beats env and file');
  assert.equal(c.internalPort, 7102, 'env beats file');
  assert.equal(c.respPort, 7201, 'file beats default');
  assert.equal(c.zone, 'env-zone');
  assert.equal(c.nodeId, 'from-file');
  assert.equal(c.dataDir, './data/from-file', 'dataDir follows the node id');
  assert.equal(c.w, 2, 'default stays where nothing overrides');
});

test('unrelated environment variables are ignored; empty ones do not override', () => {
  const c = loadConfig({ env: { PATH: '/bin', RINGKV_HTTP_PORT: '', RINGKV_N: '5', RINGKV_R: '3', RINGKV_W: '3' } });
  assert.equal(c.httpPort, 8001);
  assert.equal(c.n, 5);
  assert.equal(c.r, 3);
});

test('a bad value names the field, the value and its source', () => {
  const e1 = configErrorOf(() => loadConfig({ env: { RINGKV_HTTP_PORT: 'abc' } }));
  assert.match(e1.message, /httpPort = "abc" \(from env RINGKV_HTTP_PORT\)/);
  const e2 = configErrorOf(() => loadConfig({ flags: { httpPort: '70000' } }));
  assert.match(e2.message, /httpPort = 70000 \(from flag --http-port\)/);
  const e3 = configErrorOf(() => loadConfig({ flags: { engine: 'rocks' } }));
  assert.match(e3.message, /engine = "rocks" \(from flag --engine\)/);
  const file = writeConfig('bad.json', { partitions: 100 });
  const e4 = configErrorOf(() => loadConfig({ file }));
  assert.match(e4.message, /partitions = 100 \(from config file .*bad\.json\): must be a power of two/);
});

test('boolean fields: bare flags, and true/false words in env', () => {
  assert.equal(loadConfig({}).skipCorruptCommitlog, false);
  assert.equal(loadConfig({ flags: { skipCorruptCommitlog: true } }).skipCorruptCommitlog, true);
  assert.equal(loadConfig({ env: { RINGKV_SKIP_CORRUPT_COMMITLOG: 'true' } }).skipCorruptCommitlog, true);
  assert.equal(loadConfig({ env: { RINGKV_SKIP_CORRUPT_COMMITLOG: '1' } }).skipCorruptCommitlog, true);
  assert.equal(loadConfig({ env: { RINGKV_SKIP_CORRUPT_COMMITLOG: 'off' } }).skipCorruptCommitlog, false);
  const e = configErrorOf(() => loadConfig({ env: { RINGKV_SKIP_CORRUPT_COMMITLOG: 'maybe' } }));
  assert.match(e.message, /skipCorruptCommitlog = "maybe" \(from env RINGKV_SKIP_CORRUPT_COMMITLOG\)/);
});

test('r and w may not exceed n', () => {
  const e = configErrorOf(() => loadConfig({ flags: { n: '2', r: '3' } }));
  assert.match(e.message, /r = 3 \(from flag --r\): must be at most n \(2\)/);
  const ok = loadConfig({ flags: { n: '1', r: '1', w: '1' } });
  assert.equal(ok.n, 1);
});

test('unknown fields in a file and broken files are reported', () => {
  const e1 = configErrorOf(() => loadConfig({ file: writeConfig('u.json', { httpPrt: 1 }) }));
  assert.match(e1.message, /unknown field "httpPrt"/);
  const e2 = configErrorOf(() => loadConfig({ file: writeConfig('j.json', '{ nope') }));
  assert.match(e2.message, /not valid JSON/);
  const e3 = configErrorOf(() => loadConfig({ file: join(dir, 'missing.json') }));
  assert.match(e3.message, /cannot read config file/);
  const e4 = configErrorOf(() => loadConfig({ file: writeConfig('a.json', '[1]') }));
  assert.match(e4.message, /must hold a JSON object/);
});

test('peers: compact syntax, JSON syntax, and errors inside a peer', () => {
  const c = loadConfig({ flags: { nodeId: 'n1', clusterSecret: 'a-cluster-secret-of-16+', peers: 'n1@127.0.0.1:9001,n2@127.0.0.1:9002?http=127.0.0.1:8002&zone=b&weight=2' } });
  assert.deepEqual(c.peers, [
    { id: 'n1', address: '127.0.0.1:9001', weight: 1 },
    { id: 'n2', address: '127.0.0.1:9002', httpAddress: '127.0.0.1:8002', zone: 'b', weight: 2 },
  ]);
  const members = membersFromConfig(c);
  assert.deepEqual(members.map((m) => m.id), ['n1', 'n2'], 'self first, its peer entry replaced');
  assert.equal(members[0].address, '127.0.0.1:9001');
  assert.equal(members[0].httpAddress, '127.0.0.1:8001');

  const json = loadConfig({ env: { RINGKV_PEERS: '[{"id":"x","address":"h:1"}]', RINGKV_CLUSTER_SECRET_FILE: '/etc/ringkv/cluster-secret' } });
  assert.deepEqual(json.peers, [{ id: 'x', address: 'h:1', weight: 1 }]);

  const e1 = configErrorOf(() => loadConfig({ flags: { peers: 'n2@nohost' } }));
  assert.match(e1.message, /peers\[0\]\.address = "nohost"/);
  const e2 = configErrorOf(() => loadConfig({ flags: { peers: 'justaname' } }));
  assert.match(e2.message, /peers = "justaname" \(from flag --peers\): "justaname" is not id@host:port/);
  const e3 = configErrorOf(() => loadConfig({ flags: { peers: 'a@h:1,a@h:2' } }));
  assert.match(e3.message, /duplicate peer id "a"/);
});

test('this node\'s own peer entry must agree with its zone and weight; its zone is inherited', () => {
  const inherited = loadConfig({ flags: { nodeId: 'n1', clusterSecret: 'a-cluster-secret-of-16+', peers: 'n1@h:1?zone=a,n2@h:2?zone=b' } });
  assert.equal(inherited.zone, 'a');
  assert.equal(membersFromConfig(inherited)[0].zone, 'a');
  const e1 = configErrorOf(() => loadConfig({ flags: { nodeId: 'n1', zone: 'x', peers: 'n1@h:1?zone=a' } }));
  assert.match(e1.message, /peers\[0\]\.zone = "a" .*zone is "x"/);
  const e2 = configErrorOf(() => loadConfig({ flags: { nodeId: 'n1', peers: 'n1@h:1?weight=2' } }));
  assert.match(e2.message, /peers\[0\]\.weight = 2 .*weight is 1/);
});

test('formatPeerList is the inverse of parsePeerList', () => {
  const peers = [
    { id: 'n1', address: '127.0.0.1:9001' },
    { id: 'n2', address: 'h:9002', httpAddress: 'h:8002', zone: 'z 1', weight: 3 },
  ];
  assert.deepEqual(parsePeerList(formatPeerList(peers)), peers);
});

test('every error line is reported, not only the first', () => {
  const e = configErrorOf(() => loadConfig({ flags: { httpPort: '-1', logLevel: 'loud' } }));
  assert.match(e.message, /httpPort/);
  assert.match(e.message, /logLevel = "loud"/);
});

test('cluster secret: required with peers or join (exit 2, naming the ways to give it), given once, never shown', () => {
  const missing = configErrorOf(() => loadConfig({ flags: { nodeId: 'n1', peers: 'n1@h:1,n2@h:2' } }));
  assert.equal(missing.exitCode, 2);
  assert.match(missing.message, /clusterSecret = \(hidden\).*needs the cluster secret: --cluster-secret-file <path>/);
  assert.match(configErrorOf(() => loadConfig({ flags: { join: 'h:1' } })).message, /needs the cluster secret/);
  // a node alone (its own entry only) needs none
  assert.equal(loadConfig({ flags: { nodeId: 'n1', peers: 'n1@h:1' } }).clusterSecret, undefined);
  const short = configErrorOf(() => loadConfig({ flags: { join: 'h:1', clusterSecret: 'tiny-secret' } }));
  assert.match(short.message, /clusterSecret = \(hidden\) \(from flag --cluster-secret\): must be at least 16 characters/);
  assert.ok(!short.message.includes('tiny-secret'));
  assert.match(configErrorOf(() => loadConfig({ flags: { join: 'h:1', clusterSecret: 'a-cluster-secret-of-16+', clusterSecretFile: '/x' } })).message, /give the cluster secret once/);
  assert.equal(loadConfig({ env: { RINGKV_CLUSTER_SECRET: 'a-cluster-secret-of-16+', RINGKV_JOIN: 'h:1' } }).clusterSecret, 'a-cluster-secret-of-16+');
});
