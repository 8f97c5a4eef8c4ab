/** The cluster secret file `ringkv dev` (and the local clusters of tests and benchmarks) share among their nodes. */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { clusterSecretBytes } from '../net/cluster-auth.js';

/**
 * The secret in `path`, written there first (32 random bytes, hex, mode 0600) when the file does not
 * exist — so nodes restarted with the same command line find the same secret.
 */
export function ensureClusterSecretFile(path: string): Buffer {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(path, 0o600);
  return clusterSecretBytes(readFileSync(path, 'utf8'));
}
