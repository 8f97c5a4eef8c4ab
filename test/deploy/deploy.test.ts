/**
 * The Dockerfile and Kubernetes manifests in deploy/ cannot be run here (no container engine), so
 * this checks what can be checked: every ringkv flag and RINGKV_* variable they use exists (in the
 * config schema and in `ringkv start --help`), the values they give load as a valid configuration,
 * the static peer list names every pod of the StatefulSet by its stable DNS name, and the objects
 * refer to each other consistently (selectors, secret, probes on /health).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONFIG_FIELD_NAMES, envVarName, flagName, loadConfig } from '../../src/config/load.js';
import { fieldKind, type ConfigFieldName } from '../../src/config/schema.js';
import { parsePeerList } from '../../src/config/peers.js';
import { cliArgs, repoRoot as root } from '../helpers/paths.js';

const deploy = join(root, 'deploy');

type Obj = Record<string, any>;
const objects: Obj[] = readdirSync(join(deploy, 'k8s'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(deploy, 'k8s', f), 'utf8')).map((d) => d.toJS() as Obj))
  .filter((o) => o !== null);
const byKind = (kind: string): Obj[] => objects.filter((o) => o.kind === kind);
const statefulSet = byKind('StatefulSet')[0];
const container = statefulSet.spec.template.spec.containers[0];

const fieldByFlag = new Map(CONFIG_FIELD_NAMES.map((f) => [flagName(f), f]));
const fieldByEnv = new Map(CONFIG_FIELD_NAMES.map((f) => [envVarName(f), f]));

function startHelp(): string {
  const r = spawnSync(process.execPath, [...cliArgs, 'start', '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** `start --flag value ...` → flags keyed by config field, after substituting $(VAR) */
function flagsOf(args: string[], vars: Record<string, string>): Record<string, unknown> {
  assert.equal(args[0], 'start', 'the container runs `ringkv start`');
  const flags: Record<string, unknown> = {};
  for (let i = 1; i < args.length; i++) {
    const field = fieldByFlag.get(args[i]) as ConfigFieldName | undefined;
    assert.ok(field, `${args[i]} is not a flag of ringkv start`);
    if (fieldKind(field) === 'boolean') flags[field] = true;
    else flags[field] = args[++i].replace(/\$\(([A-Z_]+)\)/g, (_m, name: string) => vars[name] ?? `$(${name})`);
  }
  return flags;
}

test('every flag the StatefulSet and the Dockerfile pass exists in the schema and in `ringkv start --help`', () => {
  const help = startHelp();
  const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[];
  const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]) as string[];
  assert.deepEqual(entry, ['node', 'dist/src/cli/main.js']);
  const used = [...cmd, ...(container.args as string[])].filter((a) => a.startsWith('--'));
  assert.ok(used.length > 5);
  for (const flag of used) {
    assert.ok(fieldByFlag.has(flag), `${flag} is not a config field's flag`);
    assert.match(help, new RegExp(`\\s${flag}[\\s,]`), `${flag} is not in ringkv start --help`);
  }
  for (const e of container.env as Obj[]) {
    if (e.name.startsWith('RINGKV_') && e.name !== 'RINGKV_PEERS_LIST') assert.ok(fieldByEnv.has(e.name), `${e.name} is not a config variable`);
  }
});

test('each pod\'s arguments load as a valid configuration whose peers are every pod by its stable DNS name', () => {
  const env = Object.fromEntries((container.env as Obj[]).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value as string]));
  const replicas = statefulSet.spec.replicas as number;
  const namespace = statefulSet.metadata.namespace as string;
  const service = statefulSet.spec.serviceName as string;
  for (let i = 0; i < replicas; i++) {
    const pod = `${statefulSet.metadata.name}-${i}`;
    const flags = flagsOf(container.args as string[], { ...env, POD_NAME: pod, POD_IP: `10.1.0.${i + 10}` });
    const config = loadConfig({ flags, env: { RINGKV_PASSWORD: 'from-the-secret' } });
    assert.equal(config.nodeId, pod);
    assert.equal(config.password, 'from-the-secret');
    const peers = parsePeerList(String(flags.peers)) as Array<{ id: string; address: string; httpAddress: string }>;
    assert.deepEqual(peers.map((p) => p.id), Array.from({ length: replicas }, (_, j) => `${statefulSet.metadata.name}-${j}`));
    for (const p of peers) {
      assert.equal(p.address, `${p.id}.${service}.${namespace}.svc.cluster.local:${config.internalPort}`);
      assert.equal(p.httpAddress, `${p.id}.${service}.${namespace}.svc.cluster.local:${config.httpPort}`);
    }
  }
  const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[];
  assert.equal(loadConfig({ flags: flagsOf(cmd, {}) }).dataDir, '/var/lib/ringkv');
});

test('the objects fit together: headless service, PDB, secret, probes on /health', () => {
  const labels = statefulSet.spec.template.metadata.labels as Obj;
  const matches = (selector: Obj): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);
  const headless = byKind('Service').find((s) => s.metadata.name === statefulSet.spec.serviceName)!;
  assert.equal(headless.spec.clusterIP, 'None');
  assert.equal(headless.spec.publishNotReadyAddresses, true);
  assert.ok(matches(headless.spec.selector));
  const pdb = byKind('PodDisruptionBudget')[0];
  assert.ok(matches(pdb.spec.selector.matchLabels));
  assert.equal(pdb.spec.maxUnavailable, 1);
  const secret = byKind('Secret')[0];
  const refs = (container.env as Obj[]).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.valueFrom.secretKeyRef as Obj);
  refs.push(...(statefulSet.spec.template.spec.volumes as Obj[]).filter((v) => v.secret).flatMap((v) => (v.secret.items as Obj[]).map((it) => ({ name: v.secret.secretName, key: it.key }))));
  assert.ok(refs.length >= 2);
  for (const r of refs) {
    assert.equal(r.name, secret.metadata.name);
    assert.ok(r.key in secret.stringData, `secret key ${r.key}`);
  }
  const httpPort = (container.ports as Obj[]).find((p) => p.name === 'http')!.containerPort;
  assert.equal(httpPort, 8001);
  for (const probe of [container.readinessProbe, container.livenessProbe]) assert.deepEqual(probe.httpGet, { path: '/health', port: 'http' });
  for (const o of objects) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, statefulSet.metadata.namespace);
});
