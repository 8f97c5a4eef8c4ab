/**
 * Can the harness run here, and which optional faults can it inject? The required part (root, network
 * namespaces, veth, iptables) decides exit code 77; the optional parts only remove the nemeses that
 * need them from the schedule, and the run says so.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable, run } from './sys.js';

export interface Capabilities {
  /** how the delay nemesis delays packets: tc netem, or (a kernel without sch_netem) iptables NFQUEUE and a userspace delayer */
  delay?: 'netem' | 'nfqueue';
  /** why there is no way to delay packets */
  delayMissing?: string;
  /** libfaketime's LD_PRELOAD library (Debian package faketime) */
  faketimeLib?: string;
}

export type Preflight = { ok: true; caps: Capabilities } | { ok: false; reason: string };

export const REQUIRED_TOOLS = ['ip', 'iptables', 'nsenter', 'mount', 'umount'] as const;

export function findFaketimeLib(): string | undefined {
  const roots = ['/usr/lib', '/usr/local/lib', '/usr/lib64'];
  for (const root of roots) {
    const direct = join(root, 'faketime', 'libfaketime.so.1');
    if (existsSync(direct)) return direct;
    let entries: string[] = [];
    try {
      entries = readdirSync(root);
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = join(root, e, 'faketime', 'libfaketime.so.1');
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

/** `probeNs` is created and removed again; give it a name cleanup can find if this process dies */
export async function preflight(probeNs: string): Promise<Preflight> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: 'the fault harness needs root (network namespaces, iptables, mounts); run it as root or in CI' };
  }
  const missing = REQUIRED_TOOLS.filter((t) => !findExecutable(t));
  if (missing.length > 0) return { ok: false, reason: `missing tools: ${missing.join(', ')} (Debian: apt-get install iproute2 iptables util-linux mount)` };
  const add = await run('ip', ['netns', 'add', probeNs]);
  if (add.code !== 0) return { ok: false, reason: `cannot create a network namespace: ${add.stderr.trim()}` };
  try {
    const veth = await run('ip', ['-n', probeNs, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    if (veth.code !== 0) return { ok: false, reason: `cannot create a veth pair: ${veth.stderr.trim()}` };
    const ipt = await run('ip', ['netns', 'exec', probeNs, 'iptables', '-w', '-A', 'INPUT', '-s', '192.0.2.1', '-j', 'DROP']);
    if (ipt.code !== 0) return { ok: false, reason: `iptables does not work in a namespace: ${ipt.stderr.trim()}` };
    const caps: Capabilities = {};
    const netem = await run('ip', ['netns', 'exec', probeNs, 'tc', 'qdisc', 'add', 'dev', 'p0', 'root', 'netem', 'delay', '1ms']);
    const nfqueue = await run('ip', ['netns', 'exec', probeNs, 'iptables', '-w', '-A', 'OUTPUT', '-o', 'p0', '-j', 'NFQUEUE', '--queue-num', '0', '--queue-bypass']);
    if (netem.code === 0) caps.delay = 'netem';
    else if (nfqueue.code === 0 && findExecutable('python3')) caps.delay = 'nfqueue';
    else {
      caps.delayMissing = `no tc netem (${findExecutable('tc') ? netem.stderr.trim() || 'failed' : 'tc not installed'}) and no NFQUEUE delayer (${findExecutable('python3') ? nfqueue.stderr.trim() : 'python3 not installed'})`;
    }
    const lib = findFaketimeLib();
    if (lib) caps.faketimeLib = lib;
    return { ok: true, caps };
  } finally {
    await run('ip', ['netns', 'del', probeNs]);
  }
}
